// Generation through the HTTP routes against a reference: greedy decoding
// done directly on an Engine must give the same text as /completion,
// /v1/completions and /v1/chat/completions (streamed or not), alone or
// among concurrent requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "runtime/engine.h"
#include "server_fixture.h"

namespace kestrel::test {
namespace {

using nlohmann::json;

// Greedy continuation of `tokens` by a fresh one-sequence engine: the
// reference the server must reproduce.
std::string reference_greedy(const std::string& model_path, std::vector<TokenId> tokens, int n, int* n_out = nullptr) {
  auto model = Model::load(model_path, 2);
  EngineParams ep;
  ep.n_ctx = 256;
  ep.n_threads = 2;
  Engine e(*model, ep);
  const int32_t s = e.seq_new();
  Batch b(e.n_batch());
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], s, static_cast<int32_t>(i), i + 1 == tokens.size() ? kOutputLogits : kOutputNone);
  e.decode(b);
  std::string text;
  const Tokenizer& tok = model->tokenizer();
  int produced = 0;
  int64_t row = static_cast<int64_t>(tokens.size()) - 1;
  for (int k = 0; k < n; ++k) {
    const float* l = e.logits(row);
    row = 0;
    const TokenId t = static_cast<TokenId>(std::max_element(l, l + tok.n_vocab()) - l);
    if (tok.is_eog(t)) break;
    text += tok.token_to_piece(t);
    ++produced;
    b.clear();
    b.add(t, s, static_cast<int32_t>(e.seq_length(s)), kOutputLogits);
    e.decode(b);
  }
  if (n_out) *n_out = produced;
  return text;
}

std::vector<TokenId> encode(const std::string& model_path, const std::string& text) {
  auto model = Model::load(model_path, 1);
  return model->tokenizer().encode(text, true, true);
}

TEST(ServerGeneration, CompletionMatchesDirectGreedyDecoding) {
  TestServer srv;
  const std::string path = srv.state().opt.model_path;
  int n_ref = 0;
  const std::string ref = reference_greedy(path, encode(path, "Once upon a time"), 24, &n_ref);
  auto [status, j] = srv.post("/completion", json{{"prompt", "Once upon a time"}, {"n_predict", 24}});
  ASSERT_EQ(status, 200) << j.dump();
  EXPECT_EQ(j["content"], ref);
  EXPECT_EQ(j["tokens_predicted"], n_ref);
  EXPECT_EQ(j["stop"], true);
  EXPECT_EQ(j["tokens_evaluated"], encode(path, "Once upon a time").size());

  auto [s2, oa] = srv.post("/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}});
  ASSERT_EQ(s2, 200) << oa.dump();
  EXPECT_EQ(oa["object"], "text_completion");
  EXPECT_EQ(oa["choices"][0]["text"], ref);
  EXPECT_EQ(oa["choices"][0]["finish_reason"], n_ref == 24 ? "length" : "stop");
  EXPECT_EQ(oa["usage"]["completion_tokens"], n_ref);
  EXPECT_EQ(oa["usage"]["total_tokens"], oa["usage"]["prompt_tokens"].get<int>() + n_ref);
}

TEST(ServerGeneration, ChatUsesTheTemplateAndStreamsTheSameText) {
  TestServer srv;
  const std::string path = srv.state().opt.model_path;
  const json messages = json::array({{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi there"}}});
  const std::string rendered =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n";
  auto [ts, applied] = srv.post("/apply-template", json{{"messages", messages}});
  ASSERT_EQ(ts, 200);
  EXPECT_EQ(applied["prompt"], rendered);
  const std::string ref = reference_greedy(path, encode(path, rendered), 16);

  auto [status, j] = srv.post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 16}});
  ASSERT_EQ(status, 200) << j.dump();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], ref);
  EXPECT_EQ(j["usage"]["prompt_tokens"], encode(path, rendered).size());

  auto r = srv.client()->Post("/v1/chat/completions",
                              json{{"messages", messages}, {"max_tokens", 16}, {"stream", true},
                                   {"stream_options", {{"include_usage", true}}}}.dump(),
                              "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const auto payloads = sse_payloads(r->body);
  ASSERT_GE(payloads.size(), 3u);
  EXPECT_EQ(payloads.back(), "[DONE]");
  std::string streamed;
  std::string finish;
  json usage;
  for (size_t i = 0; i + 1 < payloads.size(); ++i) {
    const json c = json::parse(payloads[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (c.contains("usage")) {
      usage = c["usage"];
      EXPECT_TRUE(c["choices"].empty());
      continue;
    }
    const json& ch = c["choices"][0];
    if (ch["delta"].contains("content")) streamed += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(json::parse(payloads[0])["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(streamed, ref);
  EXPECT_EQ(finish, j["choices"][0]["finish_reason"]);
  EXPECT_EQ(usage["completion_tokens"], j["usage"]["completion_tokens"]);
}

TEST(ServerGeneration, GreedyTextIsTheSameAloneOrAmongEightConcurrentRequests) {
  TestServer srv;
  const auto ask = [&](const std::string& prompt) {
    auto [s, j] = srv.post("/v1/completions", json{{"prompt", prompt}, {"max_tokens", 32}, {"temperature", 0}});
    return s == 200 ? j["choices"][0]["text"].get<std::string>() : std::string("HTTP ") + std::to_string(s);
  };
  const std::vector<std::string> prompts = {"The river", "A quiet", "In the morning", "She said", "Numbers: 1, 2,",
                                            "Hello", "The old house", "Why"};
  std::vector<std::string> alone;
  for (const auto& p : prompts) alone.push_back(ask(p));
  std::vector<std::future<std::string>> together;
  for (const auto& p : prompts) together.push_back(std::async(std::launch::async, ask, p));
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(together[i].get(), alone[i]) << prompts[i];
}

TEST(ServerGeneration, StopStringsCutTheTextAndEndWithStop) {
  TestServer srv;
  auto [s0, full] = srv.post("/completion", json{{"prompt", "Once upon a time"}, {"n_predict", 24}});
  ASSERT_EQ(s0, 200);
  const std::string text = full["content"];
  ASSERT_GE(text.size(), 8u);
  const std::string stop = text.substr(4, 3);
  const size_t at = text.find(stop);
  auto [s1, cut] = srv.post("/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"stop", {stop}}});
  ASSERT_EQ(s1, 200) << cut.dump();
  EXPECT_EQ(cut["choices"][0]["text"], text.substr(0, at));
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "stop");
  auto [s2, llama] = srv.post("/completion", json{{"prompt", "Once upon a time"}, {"n_predict", 24}, {"stop", stop}});
  ASSERT_EQ(s2, 200);
  EXPECT_EQ(llama["content"], text.substr(0, at));
  EXPECT_EQ(llama["stopped_word"], true);
  EXPECT_EQ(llama["stopping_word"], stop);
}

TEST(ServerGeneration, LogprobsAreLogSoftmaxOfTheChosenTokens) {
  TestServer srv;
  auto [s, j] = srv.post("/v1/chat/completions",
                         json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 4},
                              {"logprobs", true}, {"top_logprobs", 3}});
  ASSERT_EQ(s, 200) << j.dump();
  const json& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), j["usage"]["completion_tokens"].get<size_t>());
  for (const json& t : content) {
    ASSERT_EQ(t["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_FLOAT_EQ(t["logprob"].get<float>(), t["top_logprobs"][0]["logprob"].get<float>());
    EXPECT_LE(t["logprob"].get<float>(), 0.0f);
    EXPECT_GE(t["top_logprobs"][0]["logprob"].get<float>(), t["top_logprobs"][1]["logprob"].get<float>());
  }
  auto [s2, c] = srv.post("/v1/completions", json{{"prompt", "Hi"}, {"max_tokens", 3}, {"logprobs", 2}});
  ASSERT_EQ(s2, 200);
  EXPECT_EQ(c["choices"][0]["logprobs"]["tokens"].size(), c["choices"][0]["logprobs"]["token_logprobs"].size());
  EXPECT_EQ(c["choices"][0]["logprobs"]["top_logprobs"][0].size(), 2u);
}

TEST(ServerGeneration, SeededSamplingIsReproducibleAndSeedsDiffer) {
  // The tiny random model puts nearly all mass on one token: use the
  // trained test model, whose distributions are those of real text.
  const std::string trained = std::string(KESTREL_SHARED_DIR) + "/data/models/kestrel-test-4m-F16.gguf";
  if (!std::filesystem::exists(trained)) GTEST_SKIP() << "needs " << trained;
  auto o = tiny_server_options();
  o.model_path = trained;
  TestServer srv(o);
  const auto ask = [&](int seed) {
    auto [s, j] = srv.post("/v1/completions", json{{"prompt", "The"}, {"max_tokens", 24}, {"temperature", 1.0},
                                                     {"top_k", 0}, {"top_p", 1.0}, {"min_p", 0.0}, {"seed", seed}});
    return j["choices"][0]["text"].get<std::string>();
  };
  EXPECT_EQ(ask(7), ask(7));
  EXPECT_NE(ask(7), ask(8));
}

TEST(ServerGeneration, TokenizeDetokenizeRoundTrip) {
  TestServer srv;
  auto [s, t] = srv.post("/tokenize", json{{"content", "Hello world, again"}, {"add_special", true}});
  ASSERT_EQ(s, 200);
  const std::string path = srv.state().opt.model_path;
  EXPECT_EQ(t["tokens"], json(encode(path, "Hello world, again")));
  json no_bos = t["tokens"];
  no_bos.erase(no_bos.begin());
  auto [s2, d] = srv.post("/detokenize", json{{"tokens", no_bos}});
  ASSERT_EQ(s2, 200);
  // The tiny vocabulary has no "▁" piece, so the space prefix is spelled in
  // byte tokens and stays (as in llama.cpp): compare with the tokenizer.
  auto model = Model::load(path, 1);
  EXPECT_EQ(d["content"], model->tokenizer().decode(no_bos.get<std::vector<TokenId>>(), true));
  EXPECT_NE(d["content"].get<std::string>().find("Hello world, again"), std::string::npos);
  auto [s3, p] = srv.post("/tokenize", json{{"content", "Hi"}, {"with_pieces", true}});
  ASSERT_EQ(s3, 200);
  std::string joined;
  for (const json& e : p["tokens"]) {
    EXPECT_TRUE(e["id"].is_number_integer());
    if (e["piece"].is_string()) {
      joined += e["piece"].get<std::string>();
    } else {  // a byte token that is not UTF-8 alone: its bytes
      for (const json& b : e["piece"]) joined += static_cast<char>(b.get<int>());
    }
  }
  EXPECT_EQ(joined, model->tokenizer().decode(model->tokenizer().encode("Hi", false, true), true));
}

TEST(ServerGeneration, PrefixCacheServesTheSharedStartOfPrompts) {
  TestServer srv;
  std::string system(160, 'a');
  for (size_t i = 0; i < system.size(); i += 5) system[i] = ' ';
  auto [s1, a] = srv.post("/v1/completions", json{{"prompt", system + " first"}, {"max_tokens", 2}});
  ASSERT_EQ(s1, 200) << a.dump();
  EXPECT_EQ(a["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  auto [s2, b] = srv.post("/v1/completions", json{{"prompt", system + " second"}, {"max_tokens", 2}});
  ASSERT_EQ(s2, 200);
  EXPECT_GE(b["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 64);
  EXPECT_EQ(b["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>() % 64, 0);
}

}  // namespace
}  // namespace kestrel::test
