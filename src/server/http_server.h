// The HTTP side of `kestrel serve`: cpp-httplib's server with kestrel's
// routes, API-key check, size limits, OpenAI-style errors, CORS, and a
// graceful stop. Listening starts before the model is loaded so /health
// answers 503 while loading (every other route too) and 200 once ready.
#pragma once

#include <memory>
#include <thread>

#include "server/server_state.h"

namespace httplib { class Server; }

namespace kestrel::server {

class HttpServer {
 public:
  explicit HttpServer(ServerState& st);
  ~HttpServer();

  // Binds host:port (port 0: any free port); throws kestrel::Error when it cannot.
  void bind();
  int port() const { return port_; }
  // Serves on a thread of its own until stop().
  void start();
  // Stops accepting and waits for the handlers in flight to return.
  void stop();

 private:
  void install_routes();
  ServerState& st_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread thread_;
  int port_ = 0;
};

// Loads the model, the engine, the chat template and the scheduler into
// `st` (then sets st.ready). Throws kestrel::Error for a bad file or option.
void load_server_model(ServerState& st);

}  // namespace kestrel::server
