// The slot scheduler: continuous batching of many requests on one Engine.
//
// One thread owns the engine. Submitted tasks wait in a bounded queue; a
// free slot takes the next one (mapping the prefix cache's pages for the
// start of its prompt). Every step builds one batch: the next token of each
// generating slot first, then prompt chunks of prefilling slots (round
// robin) up to n_batch tokens, so a long prompt is prefilled over several
// steps while the other streams keep flowing. After the forward pass each
// slot that produced logits samples its next token with its own sampler
// chain; text goes back through the task's channel (stop strings and UTF-8
// boundaries handled by StopFilter). A cancelled task (client gone) or one
// past its deadline frees its slot at the next step.
//
// Because a sequence's logits do not depend on what else is in the batch
// (runtime/engine.h), a greedy request gets the same tokens alone or among
// others.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "server/task.h"

namespace kestrel::server {

struct SchedulerStats {
  int64_t prompt_tokens = 0;      // prompt tokens computed (not from the cache)
  int64_t cached_tokens = 0;      // prompt tokens mapped from the prefix cache
  int64_t generated_tokens = 0;
  double prompt_seconds = 0, generation_seconds = 0;  // wall time of steps doing each
  int64_t requests_done = 0, requests_cancelled = 0, requests_rejected = 0;
  int64_t steps = 0;
  int busy_slots = 0;
  int64_t queued = 0;
  int64_t prefix_lookups = 0, prefix_hits = 0;  // page blocks
  double kv_used_ratio = 0;
};

class Scheduler {
 public:
  Scheduler(Engine& engine, int n_slots, size_t queue_max);
  ~Scheduler();

  void start();
  // Stops taking new tasks; lets running ones finish until `deadline`, then
  // cancels what is left and joins the thread.
  void shutdown(std::chrono::steady_clock::time_point deadline);

  // False when the queue is full (the caller answers 503) or shutting down.
  bool submit(const std::shared_ptr<Task>& t);

  // While paused nothing is admitted or computed; submissions still queue
  // (tests use it to fill the queue without racing the generation).
  void set_paused(bool paused);

  SchedulerStats stats() const;
  nlohmann::json slots_json() const;
  int n_slots() const { return static_cast<int>(slots_.size()); }
  int64_t n_ctx_slot() const { return engine_.n_ctx_seq(); }

 private:
  struct Slot;
  void loop();
  void admit();
  bool build_batch();
  void after_decode();
  void handle_token(Slot& s, TokenId tok, const float* logits);
  void finish_slot(Slot& s, FinishReason r, const std::string& error = {});
  void drop_dead_slots();
  void publish_views();  // /slots and the busy/prefix/KV figures of stats()

  Engine& engine_;
  const Tokenizer& tok_;
  size_t queue_max_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Batch batch_;
  std::vector<int> batch_slot_;   // batch index -> slot with logits there, -1: none
  size_t rr_ = 0;                 // round-robin start for prompt chunks
  int64_t prompt_in_batch_ = 0;

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool stopping_ = false;
  bool paused_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace kestrel::server
