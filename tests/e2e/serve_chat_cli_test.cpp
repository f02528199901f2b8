// `kestrel serve` and `kestrel chat` as users run them: the binary as a
// child process. serve prints its port, answers over HTTP and, on SIGTERM,
// lets an in-flight stream finish, refuses new work and exits 0; chat
// answers each stdin line with the same text the server gives for the same
// conversation, reusing the cache of earlier turns.
#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <regex>

#include <nlohmann/json.hpp>

#include "process.h"
#include "test_paths.h"
#include "tiny_model.h"

namespace kestrel::test {
namespace {

using nlohmann::json;

int port_from(const std::string& err) {
  std::smatch m;
  const std::regex re("ready on http://127\\.0\\.0\\.1:([0-9]+)");
  return std::regex_search(err, m, re) ? std::stoi(m[1]) : -1;
}

TEST(ServeCli, ServesUntilSigtermThenFinishesInFlightWorkAndExitsZero) {
  const std::string model = make_tiny("Q8_0");
  Child srv({kestrel_bin(), "serve", "-m", model, "--port", "0", "-np", "2", "-c", "2048", "--chat-template", "chatml",
             "-t", "2", "--temp", "0"},
            temp_path("serve.out"), temp_path("serve.err"));
  ASSERT_TRUE(srv.wait_for("ready on")) << srv.err();
  const int port = port_from(srv.err());
  ASSERT_GT(port, 0) << srv.err();
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], std::filesystem::path(model).filename().string());
  // A stream of ~1000 tokens is running when SIGTERM arrives: it completes.
  auto stream = std::async(std::launch::async, [port] {
    httplib::Client s("127.0.0.1", port);
    s.set_read_timeout(60, 0);
    auto r = s.Post("/v1/completions", json{{"prompt", "Hi"}, {"max_tokens", 1000}, {"ignore_eos", true}, {"stream", true}}.dump(),
                    "application/json");
    return r ? r->body : std::string("no response");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  srv.signal(SIGTERM);
  ASSERT_TRUE(srv.wait_for("stopping")) << srv.err();
  auto late = httplib::Client("127.0.0.1", port).Post("/v1/completions", json{{"prompt", "Hi"}}.dump(), "application/json");
  if (late) EXPECT_EQ(late->status, 503);  // or refused: the listener may be closed already
  EXPECT_EQ(srv.wait(30), 0) << srv.err();
  const std::string body = stream.get();
  EXPECT_NE(body.find("\"finish_reason\":\"length\""), std::string::npos) << body.substr(0, 300);
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(srv.err().find("kestrel serve: stopped"), std::string::npos);
}

TEST(ServeCli, BadOptionsAndBusyPortsAreClearErrors) {
  const std::string model = make_tiny("Q8_0");
  auto r = run_command(kestrel_bin() + " serve -m " + model + " --port 70000 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--port"), std::string::npos) << r.out;
  r = run_command(kestrel_bin() + " serve -m " + model + " --port 0 --chat-template nosuch 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("unknown chat template 'nosuch'"), std::string::npos) << r.out;
  Child first({kestrel_bin(), "serve", "-m", model, "--port", "0", "-t", "1"}, temp_path("serve1.out"), temp_path("serve1.err"));
  ASSERT_TRUE(first.wait_for("ready on")) << first.err();
  const int port = port_from(first.err());
  r = run_command(kestrel_bin() + " serve -m " + model + " --port " + std::to_string(port) + " 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.out;
  first.signal(SIGINT);
  EXPECT_EQ(first.wait(30), 0);
}

TEST(ChatCli, AnswersEachLineLikeTheServerAndReusesTheCache) {
  const std::string model = make_tiny("Q8_0");
  Child chat({"/bin/sh", "-c",
              "printf 'Hello there\\nAnd again\\n' | " + kestrel_bin() + " chat -m " + model +
                  " --chat-template chatml --temp 0 -n 12 -t 2"},
             temp_path("chat.out"), temp_path("chat.err"));
  ASSERT_EQ(chat.wait(60), 0) << chat.err();
  // The same conversations through the server (greedy there too).
  Child srv({kestrel_bin(), "serve", "-m", model, "--port", "0", "--chat-template", "chatml", "--temp", "0", "-t", "2"},
            temp_path("serve2.out"), temp_path("serve2.err"));
  ASSERT_TRUE(srv.wait_for("ready on")) << srv.err();
  httplib::Client c("127.0.0.1", port_from(srv.err()));
  c.set_read_timeout(60, 0);
  json messages = json::array({{{"role", "user"}, {"content", "Hello there"}}});
  auto a = c.Post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 12}}.dump(), "application/json");
  ASSERT_TRUE(a);
  const std::string want1 = json::parse(a->body)["choices"][0]["message"]["content"];
  messages.push_back({{"role", "assistant"}, {"content", want1}});
  messages.push_back({{"role", "user"}, {"content", "And again"}});
  auto b = c.Post("/v1/chat/completions", json{{"messages", messages}, {"max_tokens", 12}}.dump(), "application/json");
  ASSERT_TRUE(b);
  const std::string want2 = json::parse(b->body)["choices"][0]["message"]["content"];
  // Each answer is followed by a newline.
  EXPECT_EQ(chat.out(), want1 + "\n" + want2 + "\n");
  srv.signal(SIGTERM);
  EXPECT_EQ(srv.wait(30), 0);
  // The second turn recomputed only what follows the first turn's tokens.
  std::smatch m;
  const std::string err = chat.err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("2 turns; prompt tokens computed ([0-9]+), reused from the cache ([0-9]+)"))) << err;
  EXPECT_GT(std::stoi(m[2]), 20);
}

}  // namespace
}  // namespace kestrel::test
