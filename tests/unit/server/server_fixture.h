// An in-process `kestrel serve` for tests: the real HTTP server on a free
// loopback port (port 0), the tiny synthetic model (or another file), and
// an httplib client. Stopped by the destructor.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "tiny_model.h"

namespace kestrel::test {

inline server::ServerOptions tiny_server_options() {
  server::ServerOptions o;
  o.model_path = make_tiny("Q8_0");
  o.port = 0;
  o.n_parallel = 4;
  o.n_ctx = 4 * 256;
  o.threads = 2;
  o.chat_template = "chatml";
  o.sampling.temp = 0;  // greedy unless a request says otherwise
  return o;
}

class TestServer {
 public:
  explicit TestServer(server::ServerOptions o = tiny_server_options())
      : st_(std::make_unique<server::ServerState>(std::move(o))), http_(std::make_unique<server::HttpServer>(*st_)) {
    http_->bind();
    http_->start();
    server::load_server_model(*st_);
  }
  ~TestServer() { stop(); }
  void stop() {
    if (!st_->scheduler) return;
    st_->stopping.store(true);
    st_->scheduler->shutdown(std::chrono::steady_clock::now());
    http_->stop();
    st_->scheduler.reset();
  }
  int port() const { return http_->port(); }
  server::ServerState& state() { return *st_; }
  std::unique_ptr<httplib::Client> client(int read_timeout_s = 60) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    c->set_read_timeout(read_timeout_s, 0);
    c->set_connection_timeout(5, 0);
    return c;
  }
  // POSTs JSON; returns (status, parsed body or null when not JSON).
  std::pair<int, nlohmann::json> post(const std::string& path, const std::string& body,
                                      const httplib::Headers& h = {}) const {
    auto r = client()->Post(path.c_str(), h, body, "application/json");
    if (!r) return {-1, nlohmann::json{{"client_error", httplib::to_string(r.error())}}};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  std::pair<int, nlohmann::json> post(const std::string& path, const nlohmann::json& body,
                                      const httplib::Headers& h = {}) const {
    return post(path, body.dump(), h);
  }

 private:
  std::unique_ptr<server::ServerState> st_;
  std::unique_ptr<server::HttpServer> http_;
};

// The `data:` payloads of an SSE body, in order.
inline std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find("\n\n", at);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(at, end - at);
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    at = end + 2;
  }
  return out;
}

}  // namespace kestrel::test
