// What the routes share: the server's options, the loaded model, its chat
// template and the scheduler. The model is loaded after the listener is up,
// so /health can answer 503 while loading; `ready` turns true once
// everything below is set.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "models/model.h"
#include "sampling/sampler.h"
#include "server/scheduler.h"

namespace kestrel::server {

struct ServerOptions {
  std::string model_path, alias;  // alias: the model id clients see (default: the file name)
  std::string host = "127.0.0.1";
  int port = 8080;
  int n_parallel = 4;              // slots (-np)
  int64_t n_ctx = 0;               // positions over all slots (-c); 0: 4096 per slot, capped at the trained context
  int64_t n_batch = 512;
  int threads = 0;
  int http_threads = 0;            // 0: enough for 4 connections per slot plus 64
  size_t queue_max = 256;          // waiting requests beyond the slots; more get 503
  size_t max_body_bytes = 8u << 20;
  int max_json_depth = 64;
  int read_timeout_s = 30, write_timeout_s = 30;
  double request_timeout_s = 600;  // a generation running longer is stopped (504)
  double shutdown_timeout_s = 10;  // SIGTERM: in-flight work gets this long, then is cancelled
  std::string api_key;
  std::string chat_template;       // a built-in name or a file; empty: the GGUF's own
  bool prefix_cache = true;
  bool web_page = true;
  SamplingParams sampling;         // defaults for requests (the CLI's sampling flags)
  // Test seam: called on every parsed generation request before it is queued.
  std::function<void(GenerationRequest&)> request_hook;
};

struct ServerState {
  explicit ServerState(ServerOptions o) : opt(std::move(o)) {}
  const ServerOptions opt;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<chat::ChatTemplate> chat_template;
  chat::ToolCallFormat tool_format = chat::ToolCallFormat::None;
  std::unique_ptr<Scheduler> scheduler;
  std::string model_id;
  std::time_t created = std::time(nullptr);
  std::atomic<int64_t> requests_total{0}, requests_errors{0};
  // Handlers running and streams still being written (graceful shutdown waits for both).
  std::atomic<int> active_handlers{0}, active_streams{0};
  std::atomic<uint64_t> next_id{1};
};

}  // namespace kestrel::server
