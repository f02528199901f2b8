// A generation task: what a request asks the scheduler to generate, and the
// channel its results come back on.
//
// The HTTP thread fills a GenerationRequest, submits the Task and then reads
// events (text pieces with their tokens' log-probs) until the task is done;
// the scheduler thread pushes them. Either side may end it early: the client
// by cancel() (it disconnected), the scheduler by finishing with a reason.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kestrel::server {

struct GenerationRequest {
  std::vector<TokenId> prompt;
  SamplingParams sampling;
  int64_t n_predict = -1;  // -1: until an end-of-generation token or the context is full
  std::vector<std::string> stop;
  int n_probs = 0;          // top log-probs per token (0: none)
  bool logprobs = false;    // log-prob of each generated token
  bool cache_prompt = true; // use / fill the prefix cache
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Test seam (never set from HTTP): these tokens are emitted in order
  // instead of sampled ones (the model still runs), so a test can make a
  // random-weight model "say" a tool call.
  std::vector<TokenId> forced_output;
};

struct TokenLogprob {
  TokenId token;
  float logprob;
  std::vector<std::pair<TokenId, float>> top;  // best first
};

// A piece of generated text (after stop-string handling) and the tokens
// generated since the previous event.
struct TaskEvent {
  std::string text;
  std::vector<TokenLogprob> tokens;
};

enum class FinishReason { None, Stop, Length, Cancelled, Timeout, Error };
const char* finish_reason_name(FinishReason r);

struct TaskSummary {
  FinishReason reason = FinishReason::None;
  std::string stop_word;      // the stop string that ended it, if any
  std::string error;          // FinishReason::Error
  int64_t n_prompt = 0, n_cached = 0, n_generated = 0;
  double prompt_ms = 0, generation_ms = 0, queued_ms = 0;
  int slot = -1;
};

class Task {
 public:
  explicit Task(GenerationRequest r) : request(std::move(r)) {}
  const GenerationRequest request;

  // Client side.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Waits up to `timeout` for events; returns them (possibly none). done is
  // set once the scheduler has finished the task and every event was taken.
  std::vector<TaskEvent> wait_events(std::chrono::milliseconds timeout, bool& done);
  // Waits until done and returns all text and tokens (non-streaming).
  TaskEvent wait_all();
  TaskSummary summary() const;

  // Scheduler side.
  void push(TaskEvent e);
  void finish(const TaskSummary& s);
  std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<TaskEvent> events_;
  bool finished_ = false;
  TaskSummary summary_;
};

}  // namespace kestrel::server
