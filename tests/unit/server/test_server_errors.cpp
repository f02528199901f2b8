// Bad requests get OpenAI's error object with the right status, naming the
// problem; the server keeps serving after each (abuse tests of the issue:
// malformed and truncated JSON, wrong types, missing and unknown fields,
// huge and deep bodies, unknown routes, API keys, a full queue, slow and
// vanishing clients, many clients at once).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "server_fixture.h"

namespace kestrel::test {
namespace {

using nlohmann::json;

void expect_error(const std::pair<int, json>& r, int status, const std::string& needle) {
  EXPECT_EQ(r.first, status) << r.second.dump();
  ASSERT_TRUE(r.second.is_object()) << "not JSON";
  ASSERT_TRUE(r.second.contains("error")) << r.second.dump();
  const json& e = r.second["error"];
  EXPECT_EQ(e["code"], status);
  EXPECT_TRUE(e["type"].is_string());
  EXPECT_NE(e["message"].get<std::string>().find(needle), std::string::npos) << e["message"];
}

const json kChat = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 2}};

TEST(ServerErrors, MalformedRequestsAre400sNamingTheProblem) {
  TestServer srv;
  expect_error(srv.post("/v1/chat/completions", std::string("{\"messages\": [")), 400, "ends early");
  expect_error(srv.post("/v1/chat/completions", std::string("{not json}")), 400, "malformed JSON");
  expect_error(srv.post("/v1/chat/completions", std::string("")), 400, "empty");
  expect_error(srv.post("/v1/chat/completions", std::string("[1, 2]")), 400, "JSON object");
  expect_error(srv.post("/v1/chat/completions", json::object()), 400, "messages");
  expect_error(srv.post("/v1/chat/completions", json{{"messages", "hi"}}), 400, "messages");
  expect_error(srv.post("/v1/chat/completions", json{{"messages", json::array()}}), 400, "empty");
  expect_error(srv.post("/v1/chat/completions", json{{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}), 400, "role");
  expect_error(srv.post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", 5}}}}}), 400, "content");
  json bad = kChat;
  bad["temperature"] = "hot";
  expect_error(srv.post("/v1/chat/completions", bad), 400, "temperature");
  bad = kChat;
  bad["top_p"] = 3;
  expect_error(srv.post("/v1/chat/completions", bad), 400, "top_p");
  bad = kChat;
  bad["max_tokens"] = -5;
  expect_error(srv.post("/v1/chat/completions", bad), 400, "max_tokens");
  bad = kChat;
  bad["frobnicate"] = true;
  auto r = srv.post("/v1/chat/completions", bad);
  expect_error(r, 400, "frobnicate");
  EXPECT_EQ(r.second["error"]["param"], "frobnicate");
  bad = kChat;
  bad["logit_bias"] = {{"999999", 5}};
  expect_error(srv.post("/v1/chat/completions", bad), 400, "outside the vocabulary");
  bad = kChat;
  bad["response_format"] = {{"type", "json_object"}};
  expect_error(srv.post("/v1/chat/completions", bad), 400, "response_format");
  expect_error(srv.post("/v1/completions", json{{"prompt", 12.5}}), 400, "prompt");
  expect_error(srv.post("/detokenize", json{{"tokens", {1, -4}}}), 400, "outside the vocabulary");
  expect_error(srv.post("/tokenize", json{{"text", "x"}}), 400, "text");
  // Still serving.
  EXPECT_EQ(srv.post("/v1/chat/completions", kChat).first, 200);
}

TEST(ServerErrors, ContextLimitsAre400s) {
  TestServer srv;  // 256 positions per slot
  std::string long_prompt;
  for (int i = 0; i < 400; ++i) long_prompt += "word ";
  expect_error(srv.post("/v1/completions", json{{"prompt", long_prompt}}), 400, "longer than the context");
  expect_error(srv.post("/completion", json{{"prompt", long_prompt}}), 400, "longer than the context");
  expect_error(srv.post("/v1/completions", json{{"prompt", "Hi"}, {"max_tokens", 100000}}), 400, "max_tokens");
  // llama-server's /completion just stops at the context: finish by length.
  auto [s, j] = srv.post("/completion", json{{"prompt", "Hi"}, {"n_predict", -1}, {"ignore_eos", true}});
  ASSERT_EQ(s, 200) << j.dump();
  EXPECT_EQ(j["stopped_limit"], true);
  EXPECT_EQ(j["tokens_evaluated"].get<int>() + j["tokens_predicted"].get<int>(), 256);
}

TEST(ServerErrors, HugeAndDeepBodiesAndUnknownRoutes) {
  auto o = tiny_server_options();
  o.max_body_bytes = 1 << 20;
  TestServer srv(o);
  std::string big = "{\"prompt\": \"" + std::string(10u << 20, 'a') + "\"}";
  auto r = srv.post("/v1/completions", big);
  EXPECT_TRUE(r.first == 413 || r.first == -1) << r.first;  // refused (or closed) without reading it all
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  expect_error(srv.post("/v1/completions", "{\"prompt\": " + deep + "}"), 400, "nested");
  auto nf = srv.client()->Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(json::parse(nf->body)["error"]["code"], 404);
  auto wrong = srv.client()->Get("/v1/chat/completions");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 404);
  EXPECT_EQ(srv.post("/v1/chat/completions", kChat).first, 200);
}

TEST(ServerErrors, ApiKeyGuardsEverythingButHealth) {
  auto o = tiny_server_options();
  o.api_key = "sekret";
  TestServer srv(o);
  expect_error(srv.post("/v1/chat/completions", kChat), 401, "API key");
  expect_error(srv.post("/v1/chat/completions", kChat, {{"Authorization", "Bearer wrong"}}), 401, "API key");
  EXPECT_EQ(srv.post("/v1/chat/completions", kChat, {{"Authorization", "Bearer sekret"}}).first, 200);
  auto models = srv.client()->Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  auto health = srv.client()->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
}

TEST(ServerErrors, AFullQueueAnswers503WithRetryAfter) {
  auto o = tiny_server_options();
  o.n_parallel = 1;
  o.queue_max = 1;
  TestServer srv(o);
  // Paused, the scheduler admits nothing: the first request fills the queue.
  srv.state().scheduler->set_paused(true);
  const json req = {{"prompt", "Hi"}, {"n_predict", 8}};
  auto a = std::async(std::launch::async, [&] { return srv.post("/completion", req); });
  for (int i = 0; i < 500 && srv.state().scheduler->stats().queued < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(srv.state().scheduler->stats().queued, 1);
  auto r = srv.client()->Post("/completion", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "unavailable_error");
  srv.state().scheduler->set_paused(false);
  const auto ra = a.get();
  EXPECT_EQ(ra.first, 200) << ra.second.dump();
}

// A raw socket, for clients that misbehave below HTTP.
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(ServerErrors, ClientsThatVanishMidStreamFreeTheirSlot) {
  auto o = tiny_server_options();
  o.n_parallel = 1;
  TestServer srv(o);
  const std::string body = json{{"prompt", "Hi"}, {"n_predict", 100000}, {"ignore_eos", true}, {"stream", true}}.dump();
  const int fd = connect_to(srv.port());
  ASSERT_GE(fd, 0);
  const std::string req = "POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[2048];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);  // the stream has started
  ::close(fd);
  // The one slot must come free for the next request well before 100000 tokens.
  auto [s, j] = srv.post("/completion", json{{"prompt", "Hi"}, {"n_predict", 4}});
  EXPECT_EQ(s, 200) << j.dump();
  EXPECT_GE(srv.state().scheduler->stats().requests_cancelled, 1);
}

TEST(ServerErrors, ASlowClientIsServedWhileOthersAreToo) {
  TestServer srv;
  const std::string body = kChat.dump();
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  auto slow = std::async(std::launch::async, [&] {
    const int fd = connect_to(srv.port());
    // Byte by byte with pauses (compressed in time: 30 ms a byte for the headers).
    for (size_t i = 0; i < req.size(); ++i) {
      if (::send(fd, req.data() + i, 1, 0) != 1) break;
      if (i < 40) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    std::string answer = read_all(fd);
    ::close(fd);
    return answer;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(srv.post("/v1/chat/completions", kChat).first, 200);  // not blocked behind it
  const std::string answer = slow.get();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer.substr(0, 200);
}

TEST(ServerErrors, SixtyFourConcurrentClientsAllGetAWellFormedAnswer) {
  auto o = tiny_server_options();
  o.n_parallel = 8;
  o.n_ctx = 8 * 128;
  TestServer srv(o);
  std::vector<std::future<std::pair<int, json>>> all;
  for (int i = 0; i < 64; ++i) {
    all.push_back(std::async(std::launch::async, [&, i] {
      if (i % 4 == 3) return srv.post("/v1/chat/completions", std::string("{\"messages\": [}"));
      return srv.post("/v1/completions", json{{"prompt", "Story " + std::to_string(i)}, {"max_tokens", 8}});
    }));
  }
  int ok = 0, bad = 0;
  for (auto& f : all) {
    auto [s, j] = f.get();
    ASSERT_TRUE(j.is_object() && !j.contains("client_error")) << s << " " << j.dump() << " request " << (&f - &all[0]);
    if (s == 200) {
      ++ok;
      EXPECT_EQ(j["choices"][0]["text"].is_string(), true);
    } else {
      ++bad;
      EXPECT_EQ(s, 400);
      EXPECT_TRUE(j.contains("error"));
    }
  }
  EXPECT_EQ(ok, 48);
  EXPECT_EQ(bad, 16);
  EXPECT_EQ(srv.state().scheduler->stats().busy_slots, 0);
}

TEST(ServerErrors, MetricsCountRequestsAndTokens) {
  TestServer srv;
  ASSERT_EQ(srv.post("/v1/completions", json{{"prompt", "Hi"}, {"max_tokens", 5}, {"ignore_eos", true}}).first, 200);
  auto m = srv.client()->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("# TYPE kestrel:tokens_predicted_total counter"), std::string::npos);
  EXPECT_NE(m->body.find("kestrel:tokens_predicted_total 5\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("kestrel:requests_processing 0\n"), std::string::npos);
  EXPECT_NE(m->body.find("kestrel:prefix_cache_hits_total"), std::string::npos);
  auto slots = srv.client()->Get("/slots");
  ASSERT_TRUE(slots);
  EXPECT_EQ(json::parse(slots->body).size(), 4u);
  auto props = srv.client()->Get("/props");
  ASSERT_TRUE(props);
  EXPECT_EQ(json::parse(props->body)["total_slots"], 4);
}

}  // namespace
}  // namespace kestrel::test

namespace kestrel::test {
namespace {

TEST(ServerErrors, EveryRouteAnswers503WhileTheModelLoads) {
  server::ServerState st(tiny_server_options());
  server::HttpServer http(st);
  http.bind();
  http.start();  // no load_server_model: still "loading"
  httplib::Client c("127.0.0.1", http.port());
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_EQ(nlohmann::json::parse(h->body)["error"]["message"], "the model is loading");
  auto r = c.Post("/v1/chat/completions", kChat.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  http.stop();
}

TEST(ServerErrors, NumbersBeyondADoubleAre400s) {
  TestServer srv;
  expect_error(srv.post("/v1/completions", std::string("{\"prompt\": \"x\", \"temperature\": 1e999}")), 400, "malformed JSON");
}

}  // namespace
}  // namespace kestrel::test
