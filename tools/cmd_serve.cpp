// `kestrel serve -m M.gguf [--host H] [--port P] [-np N] [-c N] [--api-key K] ...`
//
// An OpenAI-compatible HTTP server (src/server) with llama-server's own
// routes and flags. It listens first (GET /health answers 503 while the
// model loads), then loads the model and serves until SIGINT/SIGTERM: then
// it stops accepting, gives in-flight requests --shutdown-timeout seconds
// to finish, cancels the rest and exits 0.
#include <csignal>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "options.h"
#include "sampling_flags.h"
#include "server/http_server.h"

namespace kestrel::cli {
namespace {

struct ServeOptions {
  server::ServerOptions s;
  int64_t request_timeout = 600, shutdown_timeout = 10, max_body_mb = 8;
  int64_t queue_max = 256;
  bool no_prefix_cache = false, no_web_page = false;
};

CommandLine serve_command_line(ServeOptions& o) {
  CommandLine cl;
  cl.name = "serve";
  cl.usage = "serve -m M.gguf [--host H] [--port P] [-np N] [-c N] [--api-key K] [sampling defaults]";
  cl.description =
      "An OpenAI-compatible server (/v1/chat/completions, /v1/completions, /v1/models) with llama-server's\n"
      "routes (/completion, /tokenize, /detokenize, /apply-template, /health, /props, /slots, /metrics) and a\n"
      "chat page at /. Requests are batched continuously over -np slots that share one paged KV cache and\n"
      "its prefix cache. SIGINT/SIGTERM: stop accepting, finish or cancel in-flight work, exit 0.";
  server::ServerOptions& s = o.s;
  cl.options = {
      model_option(s.model_path, "model to serve"),
      string_option({"--host"}, "ADDR", "address to listen on (default: 127.0.0.1)", s.host),
      int_option({"--port"}, "N", "port to listen on (0: any free port, printed at start-up)", s.port, 0, 65535),
      int_option({"-np", "--parallel"}, "N", "slots: requests generated at once", s.n_parallel, 1, 256),
      int_option({"-c", "--ctx-size"}, "N",
                 "KV positions over all slots; each slot gets c/np (0: 4096, capped at the trained context x np)",
                 s.n_ctx, 0, INT32_MAX),
      int_option({"-b", "--batch-size"}, "N", "tokens per forward pass at most", s.n_batch, 1, 65536),
      threads_option(s.threads),
      int_option({"--threads-http"}, "N", "HTTP worker threads (0: 4 per slot + 64)", s.http_threads, 0, 4096),
      string_option({"-a", "--alias"}, "NAME", "model id shown to clients (default: the file name)", s.alias),
      string_option({"--api-key"}, "KEY", "require Authorization: Bearer KEY on every route but /health and /",
                    s.api_key),
      string_option({"--chat-template"}, "NAME|FILE",
                    "chat template: a built-in name (chatml, llama2, llama3, mistral, gemma, phi3, zephyr) or a "
                    "Jinja file (default: the model's own)",
                    s.chat_template),
      int_option({"--queue-max"}, "N", "requests that may wait for a slot; more get 503 + Retry-After", o.queue_max,
                 0, 1 << 20),
      int_option({"--timeout"}, "S", "read/write timeout of a connection, seconds", s.read_timeout_s, 1, 3600),
      int_option({"--request-timeout"}, "S", "a generation running longer is stopped (504); 0: none",
                 o.request_timeout, 0, 86400 * 7),
      int_option({"--shutdown-timeout"}, "S", "on SIGTERM, in-flight requests get this long before cancelling",
                 o.shutdown_timeout, 0, 3600),
      int_option({"--max-body-mb"}, "N", "largest request body, MiB (413 beyond)", o.max_body_mb, 1, 1024),
      int_option({"--max-json-depth"}, "N", "deepest JSON nesting a request may have (400 beyond)", s.max_json_depth,
                 4, 1000),
      switch_option({"--no-prefix-cache"}, "do not reuse KV pages of earlier prompts", o.no_prefix_cache),
      switch_option({"--no-webui"}, "do not serve the chat page at /", o.no_web_page),
  };
  for (Option& opt : sampling_options(s.sampling)) cl.options.push_back(std::move(opt));
  cl.exclusive = {{"--samplers", "--sampling-seq"}};
  return cl;
}

void check_serve(ServeOptions& o) {
  o.s.request_timeout_s = static_cast<double>(o.request_timeout);
  o.s.shutdown_timeout_s = static_cast<double>(o.shutdown_timeout);
  o.s.max_body_bytes = static_cast<size_t>(o.max_body_mb) << 20;
  o.s.queue_max = static_cast<size_t>(o.queue_max);
  o.s.prefix_cache = !o.no_prefix_cache;
  o.s.web_page = !o.no_web_page;
  o.s.write_timeout_s = o.s.read_timeout_s;
}

}  // namespace

void validate_serve_args(Args& args) {
  ServeOptions o;
  parse_options(args, o, serve_command_line, check_serve, false);
}

int cmd_serve(Args& args) {
  ServeOptions o;
  if (!parse_options(args, o, serve_command_line, check_serve)) return 0;
  require_readable_input(o.s.model_path);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not a signal
  server::ServerState st(o.s);
  server::HttpServer http(st);
  http.bind();
  http.start();
  std::fprintf(stderr, "kestrel serve: listening on http://%s:%d (loading %s)\n", o.s.host.c_str(), http.port(),
               o.s.model_path.c_str());
  try {
    server::load_server_model(st);
  } catch (...) {
    http.stop();
    throw;
  }
  std::fprintf(stderr, "kestrel serve: ready on http://%s:%d, %d slots of %lld positions, model '%s'\n",
               o.s.host.c_str(), http.port(), o.s.n_parallel, static_cast<long long>(st.scheduler->n_ctx_slot()),
               st.model_id.c_str());
  std::fflush(stderr);
  while (interrupt_signal() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::fprintf(stderr, "kestrel serve: stopping (in-flight requests get %lld s)\n",
               static_cast<long long>(o.shutdown_timeout));
  // New requests get 503 from here on; running ones finish (or are
  // cancelled at the deadline) and their responses drain before the
  // listener closes (cpp-httplib cuts streams off when it stops).
  st.stopping.store(true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.shutdown_timeout);
  st.scheduler->shutdown(deadline);
  const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((st.active_handlers.load() > 0 || st.active_streams.load() > 0) && std::chrono::steady_clock::now() < drain_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http.stop();
  std::fprintf(stderr, "kestrel serve: stopped\n");
  return 0;
}

}  // namespace kestrel::cli
