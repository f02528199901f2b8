// HttpServer: cpp-httplib set-up, the route table, auth and errors.
#include "server/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <dirent.h>

#include <algorithm>
#include <cstdlib>

#include "server/api_error.h"
#include "server/route_support.h"
#include "server/routes.h"

namespace kestrel::server {
namespace {

using nlohmann::json;
using Route = void (*)(ServerState&, const httplib::Request&, httplib::Response&);

void reply_error(ServerState& st, httplib::Response& res, int status, const std::string& msg, const std::string& param = {}) {
  reply_json(res, error_body(status, msg, param), status);
  if (status == 503) res.set_header("Retry-After", "1");
  ++st.requests_errors;
}

// Runs a route with the errors every route shares: not ready yet, API
// errors, malformed input caught deeper, out of memory.
httplib::Server::Handler wrap(ServerState& st, Route route) {
  return [&st, route](const httplib::Request& req, httplib::Response& res) {
    ++st.requests_total;
    if (!st.ready.load()) return reply_error(st, res, 503, "the model is loading");
    struct Active {
      std::atomic<int>& n;
      explicit Active(std::atomic<int>& c) : n(c) { ++n; }
      ~Active() { --n; }
    } active(st.active_handlers);
    try {
      route(st, req, res);
    } catch (const ApiError& e) {
      reply_error(st, res, e.status(), e.what(), e.param());
    } catch (const json::exception& e) {
      reply_error(st, res, 400, std::string("invalid request: ") + e.what());
    } catch (const std::bad_alloc&) {
      reply_error(st, res, 503, "out of memory");
    } catch (const Error& e) {
      reply_error(st, res, 400, e.what());
    } catch (const std::exception& e) {
      reply_error(st, res, 500, std::string("internal error: ") + e.what());
    }
  };
}

bool authorized(const ServerState& st, const httplib::Request& req) {
  if (st.opt.api_key.empty()) return true;
  if (req.path == "/health" || req.path == "/" || req.path == "/index.html") return true;
  const std::string bearer = "Bearer " + st.opt.api_key;
  return req.get_header_value("Authorization") == bearer || req.get_header_value("X-Api-Key") == st.opt.api_key;
}

// cpp-httplib (Debian's shared build) listens with a backlog of 5, so a
// burst of clients overflows the accept queue and some connections die
// half-open. Linux lets listen() be called again on a listening socket to
// raise the backlog; the library does not expose the socket, so it is
// found among the process's descriptors by its port.
void widen_listen_backlog(int port) {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage a{};
    socklen_t alen = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0) continue;
    int p = -1;
    if (a.ss_family == AF_INET) p = ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    if (a.ss_family == AF_INET6) p = ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
    if (p == port) ::listen(fd, SOMAXCONN);
  }
  ::closedir(d);
}

}  // namespace

HttpServer::HttpServer(ServerState& st) : st_(st), svr_(std::make_unique<httplib::Server>()) {
  const int n_threads = st.opt.http_threads > 0 ? st.opt.http_threads : 4 * st.opt.n_parallel + 64;
  svr_->new_task_queue = [n_threads] { return new httplib::ThreadPool(static_cast<size_t>(n_threads)); };
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, which lets
  // a second server bind a port in use and silently split its traffic.
  svr_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr_->set_payload_max_length(st.opt.max_body_bytes);
  svr_->set_read_timeout(st.opt.read_timeout_s, 0);
  svr_->set_write_timeout(st.opt.write_timeout_s, 0);
  svr_->set_keep_alive_timeout(5);
  svr_->set_default_headers({{"Server", "kestrel"}, {"Access-Control-Allow-Origin", "*"}});
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::install_routes() {
  httplib::Server& s = *svr_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (st_.stopping.load() && req.path != "/health") {
      reply_error(st_, res, 503, "the server is shutting down");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "OPTIONS") {  // CORS preflight
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key");
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!authorized(st_, req)) {
      ++st_.requests_total;
      reply_error(st_, res, 401, "invalid or missing API key (send Authorization: Bearer KEY)");
      res.set_header("WWW-Authenticate", "Bearer");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    ++st_.requests_total;
    if (!st_.ready.load()) return reply_error(st_, res, 503, "the model is loading");
    reply_json(res, {{"status", "ok"}});
  });
  const std::pair<const char*, Route> posts[] = {
      {"/v1/chat/completions", route_chat_completions}, {"/chat/completions", route_chat_completions},
      {"/v1/completions", route_completions},           {"/completions", route_completions},
      {"/completion", route_completion},                {"/tokenize", route_tokenize},
      {"/detokenize", route_detokenize},                {"/apply-template", route_apply_template},
  };
  for (const auto& [path, route] : posts) s.Post(path, wrap(st_, route));
  const std::pair<const char*, Route> gets[] = {
      {"/v1/models", route_models}, {"/models", route_models}, {"/props", route_props},
      {"/slots", route_slots},      {"/metrics", route_metrics},
  };
  for (const auto& [path, route] : gets) s.Get(path, wrap(st_, route));
  if (st_.opt.web_page) {
    s.Get("/", wrap(st_, route_index));
    s.Get("/index.html", wrap(st_, route_index));
  }
  // Statuses httplib sets itself (404 no route, 413 body too large, 400
  // unparsable HTTP) get an OpenAI error body too.
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg;
    switch (res.status) {
      case 404: msg = "no route " + req.method + " " + req.path; break;
      case 413: msg = "the request body is larger than the limit (" + std::to_string(st_.opt.max_body_bytes) + " bytes)"; break;
      case 414: msg = "the request URI is too long"; break;
      default: msg = "bad request"; break;
    }
    reply_error(st_, res, res.status, msg);
  });
}

void HttpServer::bind() {
  if (st_.opt.port == 0) {
    port_ = svr_->bind_to_any_port(st_.opt.host);
    if (port_ <= 0) throw Error("cannot listen on " + st_.opt.host + " (any port)");
  } else {
    if (!svr_->bind_to_port(st_.opt.host, st_.opt.port)) {
      throw Error("cannot listen on " + st_.opt.host + ":" + std::to_string(st_.opt.port) + " (in use, or a bad address)");
    }
    port_ = st_.opt.port;
  }
  widen_listen_backlog(port_);
}

void HttpServer::start() {
  thread_ = std::thread([this] { svr_->listen_after_bind(); });
}

void HttpServer::stop() {
  if (svr_) svr_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kestrel::server
