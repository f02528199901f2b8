// POST /v1/completions (OpenAI's text completions) and POST /completion
// (llama-server's): a prompt (or several), one task per prompt and choice.
#include <httplib.h>

#include "server/api_error.h"
#include "server/request_fields.h"
#include "server/request_json.h"
#include "server/request_sampling.h"
#include "server/route_support.h"
#include "server/routes.h"
#include "server/sse_stream.h"

namespace kestrel::server {
namespace {

using nlohmann::json;

struct CompletionRequest {
  std::vector<GenerationRequest> gens;  // one per (prompt, choice)
  std::vector<std::string> prompt_texts;
  bool stream = false, include_usage = false, echo = false;
  int n = 1;
};

std::set<std::string> with_sampling(std::initializer_list<const char*> names) {
  std::set<std::string> s = sampling_field_names();
  for (const char* f : names) s.insert(f);
  return s;
}

// OpenAI's prompt: a string, strings, token ids, or arrays of token ids.
std::vector<json> split_prompts(const json& p) {
  if (!p.is_array() || p.empty()) return {p};
  const bool all_strings = std::all_of(p.begin(), p.end(), [](const json& e) { return e.is_string(); });
  const bool all_arrays = std::all_of(p.begin(), p.end(), [](const json& e) { return e.is_array(); });
  if (all_strings || all_arrays) return std::vector<json>(p.begin(), p.end());
  return {p};
}

CompletionRequest parse_openai(ServerState& st, const json& body) {
  static const std::set<std::string> fields =
      with_sampling({"model", "prompt", "max_tokens", "n_predict", "stream", "stream_options", "stop", "logprobs", "n",
                     "echo", "best_of", "user", "suffix", "cache_prompt"});
  const Fields f(body, fields);
  if (!f.has("prompt")) throw bad_field("prompt", "required");
  if (f.has("suffix")) throw bad_field("suffix", "insertion (suffix) is not supported");
  if (f.has("best_of") && f.integer("best_of", 1, 1)) {}
  if (f.has("model")) (void)f.string("model");
  if (f.has("user")) (void)f.string("user");
  CompletionRequest r;
  GenerationRequest g;
  g.sampling = st.opt.sampling;
  read_sampling_fields(f, st.model->tokenizer().n_vocab(), g);
  if (auto m = f.integer("max_tokens", 0, INT32_MAX)) g.n_predict = *m;
  if (auto m = f.integer("n_predict", -1, INT32_MAX)) g.n_predict = *m;
  g.stop = f.strings("stop", 16);
  if (auto lp = f.integer("logprobs", 0, 5)) {
    g.logprobs = true;
    g.n_probs = static_cast<int>(*lp);
  }
  if (auto c = f.boolean("cache_prompt")) g.cache_prompt = *c;
  r.stream = f.boolean("stream").value_or(false);
  r.include_usage = read_include_usage(f);
  r.echo = f.boolean("echo").value_or(false);
  r.n = static_cast<int>(f.integer("n", 1, 16).value_or(1));
  for (const json& p : split_prompts(f.raw("prompt"))) {
    GenerationRequest one = g;
    one.prompt = tokenize_prompt(st, p, "prompt", true);
    check_context(st, one, true);
    r.prompt_texts.push_back(st.model->tokenizer().decode(one.prompt));
    for (int k = 0; k < r.n; ++k) {
      GenerationRequest c = one;
      if (c.sampling.seed != kRandomSeed) c.sampling.seed += static_cast<uint32_t>(k);
      r.gens.push_back(std::move(c));
    }
  }
  return r;
}

class OpenAiCompletionStream : public SseFormatter {
 public:
  OpenAiCompletionStream(ServerState& st, CompletionRequest r, std::string id)
      : st_(st), r_(std::move(r)), id_(std::move(id)), offsets_(r_.gens.size(), 0) {}
  void begin(std::vector<std::string>& out) override {
    if (!r_.echo) return;
    for (size_t i = 0; i < r_.gens.size(); ++i) {
      const std::string& text = r_.prompt_texts[i / static_cast<size_t>(r_.n)];
      offsets_[i] = text.size();
      out.push_back(chunk(i, text, nullptr, nullptr));
    }
  }
  void event(size_t i, const TaskEvent& e, std::vector<std::string>& out) override {
    json lp = r_.gens[i].logprobs ? completion_logprobs_json(st_, e.tokens, offsets_[i]) : json(nullptr);
    offsets_[i] += e.text.size();
    out.push_back(chunk(i, e.text, nullptr, lp));
  }
  void finish(size_t i, const TaskSummary& s, std::vector<std::string>& out) override {
    sums_.push_back(s);
    try {
      throw_if_failed(s);
      out.push_back(chunk(i, "", openai_finish_reason(s.reason), nullptr));
    } catch (const ApiError& e) {
      out.push_back(to_json_text(error_body(e.status(), e.what())));
    }
  }
  void end(std::vector<std::string>& out) override {
    if (!r_.include_usage) return;
    json j = base();
    j["choices"] = json::array();
    j["usage"] = usage_json(sums_);
    out.push_back(to_json_text(j));
  }

 private:
  json base() const { return {{"id", id_}, {"object", "text_completion"}, {"created", std::time(nullptr)}, {"model", st_.model_id}}; }
  std::string chunk(size_t i, const std::string& text, json finish, json lp) const {
    json j = base();
    j["choices"] = json::array({{{"index", i}, {"text", text}, {"logprobs", std::move(lp)}, {"finish_reason", std::move(finish)}}});
    return to_json_text(j);
  }
  ServerState& st_;
  CompletionRequest r_;
  std::string id_;
  std::vector<size_t> offsets_;
  std::vector<TaskSummary> sums_;
};

// llama-server's /completion fields.
struct LlamaRequest {
  GenerationRequest gen;
  bool stream = false;
  std::string prompt_text;
};

LlamaRequest parse_llama(ServerState& st, const json& body) {
  static const std::set<std::string> fields =
      with_sampling({"prompt", "n_predict", "max_tokens", "stream", "stop", "n_probs", "cache_prompt", "model",
                     "samplers"});
  const Fields f(body, fields);
  if (!f.has("prompt")) throw bad_field("prompt", "required");
  LlamaRequest r;
  r.gen.sampling = st.opt.sampling;
  read_sampling_fields(f, st.model->tokenizer().n_vocab(), r.gen);
  for (const char* name : {"n_predict", "max_tokens"}) {
    if (auto m = f.integer(name, -1, INT32_MAX)) r.gen.n_predict = *m;
  }
  r.gen.stop = f.strings("stop", 16);
  if (auto np = f.integer("n_probs", 0, 100)) r.gen.n_probs = static_cast<int>(*np);
  r.gen.logprobs = r.gen.n_probs > 0;
  if (auto c = f.boolean("cache_prompt")) r.gen.cache_prompt = *c;
  if (f.has("samplers")) {
    const json& s = f.raw("samplers");
    try {
      if (s.is_string()) r.gen.sampling.samplers = parse_sampler_chars(s.get<std::string>());
      else if (s.is_array()) {
        std::string list;
        for (const json& e : s) {
          if (!e.is_string()) throw bad_field("samplers", "expected sampler names");
          if (!list.empty()) list += ';';
          list += e.get<std::string>();
        }
        r.gen.sampling.samplers = parse_sampler_names(list);
      } else {
        throw bad_field("samplers", "expected a string or an array of names");
      }
    } catch (const ApiError&) {
      throw;
    } catch (const Error& e) {
      throw bad_field("samplers", e.what());
    }
  }
  r.stream = f.boolean("stream").value_or(false);
  r.gen.prompt = tokenize_prompt(st, f.raw("prompt"), "prompt", true);
  check_context(st, r.gen, false);
  return r;
}

json llama_probs(const ServerState& st, const std::vector<TokenLogprob>& t) {
  const Tokenizer& tok = st.model->tokenizer();
  json a = json::array();
  for (const TokenLogprob& x : t) {
    json tops = json::array();
    for (const auto& [id, lp] : x.top) tops.push_back({{"id", id}, {"token", tok.token_to_piece(id, true)}, {"logprob", lp}});
    a.push_back({{"id", x.token}, {"token", tok.token_to_piece(x.token, true)}, {"logprob", x.logprob}, {"top_logprobs", tops}});
  }
  return a;
}

json llama_final(const ServerState& st, const TaskSummary& s, std::string content) {
  const auto per_s = [](int64_t n, double ms) { return ms > 0 ? 1000.0 * static_cast<double>(n) / ms : 0.0; };
  const auto per_tok = [](int64_t n, double ms) { return n > 0 ? ms / static_cast<double>(n) : 0.0; };
  const int64_t computed = s.n_prompt - s.n_cached;
  return {{"content", std::move(content)},
          {"stop", true},
          {"id_slot", s.slot},
          {"model", st.model_id},
          {"tokens_predicted", s.n_generated},
          {"tokens_evaluated", s.n_prompt},
          {"tokens_cached", s.n_cached},
          {"truncated", false},
          {"stopped_eos", s.reason == FinishReason::Stop && s.stop_word.empty()},
          {"stopped_word", !s.stop_word.empty()},
          {"stopped_limit", s.reason == FinishReason::Length},
          {"stopping_word", s.stop_word},
          {"timings",
           {{"prompt_n", computed},
            {"prompt_ms", s.prompt_ms},
            {"prompt_per_token_ms", per_tok(computed, s.prompt_ms)},
            {"prompt_per_second", per_s(computed, s.prompt_ms)},
            {"predicted_n", s.n_generated},
            {"predicted_ms", s.generation_ms},
            {"predicted_per_token_ms", per_tok(s.n_generated, s.generation_ms)},
            {"predicted_per_second", per_s(s.n_generated, s.generation_ms)}}}};
}

class LlamaStream : public SseFormatter {
 public:
  LlamaStream(ServerState& st, bool probs) : st_(st), probs_(probs) { done_marker = false; }
  void event(size_t, const TaskEvent& e, std::vector<std::string>& out) override {
    json j = {{"content", e.text}, {"stop", false}};
    if (probs_) j["completion_probabilities"] = llama_probs(st_, e.tokens);
    out.push_back(to_json_text(j));
  }
  void finish(size_t, const TaskSummary& s, std::vector<std::string>& out) override {
    try {
      throw_if_failed(s);
      out.push_back(to_json_text(llama_final(st_, s, "")));
    } catch (const ApiError& e) {
      out.push_back(to_json_text(error_body(e.status(), e.what())));
    }
  }

 private:
  ServerState& st_;
  bool probs_;
};

}  // namespace

void route_completions(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  CompletionRequest r = parse_openai(st, parse_request_json(req.body, st.opt.max_json_depth));
  const std::string id = make_id(st, "cmpl-");
  auto tasks = submit_all(st, r.gens);
  if (r.stream) {
    respond_sse(res, std::move(tasks), std::make_shared<OpenAiCompletionStream>(st, std::move(r), id), &st.active_streams);
    return;
  }
  std::vector<TaskEvent> outs;
  std::vector<TaskSummary> sums;
  wait_for_all(tasks, outs, sums);
  json choices = json::array();
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string prefix = r.echo ? r.prompt_texts[i / static_cast<size_t>(r.n)] : std::string();
    json c = {{"index", i}, {"text", prefix + outs[i].text}};
    c["logprobs"] = r.gens[i].logprobs ? completion_logprobs_json(st, outs[i].tokens, prefix.size()) : json(nullptr);
    c["finish_reason"] = openai_finish_reason(sums[i].reason);
    choices.push_back(std::move(c));
  }
  json j = {{"id", id}, {"object", "text_completion"}, {"created", std::time(nullptr)}, {"model", st.model_id}};
  j["choices"] = std::move(choices);
  j["usage"] = usage_json(sums);
  reply_json(res, j);
}

void route_completion(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  LlamaRequest r = parse_llama(st, parse_request_json(req.body, st.opt.max_json_depth));
  const bool probs = r.gen.n_probs > 0;
  const bool stream = r.stream;
  auto task = submit(st, std::move(r.gen));
  if (stream) {
    respond_sse(res, {task}, std::make_shared<LlamaStream>(st, probs), &st.active_streams);
    return;
  }
  TaskEvent all = task->wait_all();
  const TaskSummary s = task->summary();
  throw_if_failed(s);
  json j = llama_final(st, s, all.text);
  if (probs) j["completion_probabilities"] = llama_probs(st, all.tokens);
  reply_json(res, j);
}

}  // namespace kestrel::server
