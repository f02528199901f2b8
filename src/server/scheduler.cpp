// The slot scheduler (scheduler.h): admission, batch building, sampling.
#include "server/scheduler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "server/stop_filter.h"

namespace kestrel::server {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// log-softmax of the raw logits: the chosen token's log-prob and the n best.
TokenLogprob logprobs_of(const float* logits, int32_t n_vocab, TokenId chosen, int n_top) {
  float mx = logits[0];
  for (int32_t i = 1; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
  const double lse = static_cast<double>(mx) + std::log(sum);
  TokenLogprob t;
  t.token = chosen;
  t.logprob = static_cast<float>(logits[chosen] - lse);
  if (n_top > 0) {
    std::vector<std::pair<float, TokenId>> best;
    best.reserve(static_cast<size_t>(n_top) + 1);
    for (int32_t i = 0; i < n_vocab; ++i) {
      if (static_cast<int>(best.size()) < n_top || logits[i] > best.back().first) {
        best.emplace_back(logits[i], i);
        std::sort(best.begin(), best.end(), [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
        if (static_cast<int>(best.size()) > n_top) best.pop_back();
      }
    }
    for (auto& [l, id] : best) t.top.emplace_back(id, static_cast<float>(l - lse));
  }
  return t;
}

}  // namespace

struct Scheduler::Slot {
  int id = 0;
  std::shared_ptr<Task> task;
  int32_t seq = -1;
  int64_t prompt_done = 0;   // prompt tokens in the KV cache
  bool generating = false;
  TokenId next = -1;         // sampled, not yet in the cache
  std::unique_ptr<SamplerChain> chain;
  StopFilter filter;
  TaskSummary sum;
  Clock::time_point t_admit, t_first;
  // For /slots (read under the scheduler's mutex).
  int64_t view_prompt = 0, view_generated = 0;
  bool view_busy = false;
};

Scheduler::Scheduler(Engine& engine, int n_slots, size_t queue_max)
    : engine_(engine), tok_(engine.model().tokenizer()), queue_max_(queue_max), batch_(engine.n_batch()) {
  for (int i = 0; i < n_slots; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->id = i;
  }
  batch_slot_.assign(static_cast<size_t>(engine.n_batch()), -1);
}

Scheduler::~Scheduler() { shutdown(Clock::now()); }

void Scheduler::start() { thread_ = std::thread([this] { loop(); }); }

void Scheduler::shutdown(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(m_);
    stopping_ = true;
    deadline_ = std::min(deadline_, deadline);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Scheduler::submit(const std::shared_ptr<Task>& t) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (stopping_ || queue_.size() >= queue_max_) {
      ++stats_.requests_rejected;
      return false;
    }
    queue_.push_back(t);
    stats_.queued = static_cast<int64_t>(queue_.size());
  }
  cv_.notify_all();
  return true;
}

void Scheduler::set_paused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(m_);
    paused_ = paused;
  }
  cv_.notify_all();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(m_);
  return stats_;
}

nlohmann::json Scheduler::slots_json() const {
  std::lock_guard<std::mutex> lock(m_);
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : slots_) {
    a.push_back({{"id", s->id},
                 {"is_processing", s->view_busy},
                 {"n_ctx", engine_.n_ctx_seq()},
                 {"n_prompt_tokens", s->view_prompt},
                 {"n_decoded", s->view_generated}});
  }
  return a;
}

void Scheduler::admit() {
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (s.task) continue;
    std::shared_ptr<Task> t;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (queue_.empty()) return;
      t = queue_.front();
      queue_.pop_front();
      stats_.queued = static_cast<int64_t>(queue_.size());
    }
    const GenerationRequest& r = t->request;
    s.task = t;
    s.t_admit = Clock::now();
    s.sum = TaskSummary{};
    s.sum.slot = s.id;
    s.sum.n_prompt = static_cast<int64_t>(r.prompt.size());
    s.sum.queued_ms = ms_between(t->submitted, s.t_admit);
    s.seq = engine_.seq_new();
    s.prompt_done = r.cache_prompt && engine_.kv().prefix_cache_enabled() ? engine_.seq_attach_prefix(s.seq, r.prompt) : 0;
    s.sum.n_cached = s.prompt_done;
    s.generating = false;
    s.filter = StopFilter(r.stop);
    SamplerContext sc;
    sc.n_ctx = static_cast<int32_t>(engine_.n_ctx_seq());
    sc.eog_tokens.assign(tok_.eog_ids().begin(), tok_.eog_ids().end());
    sc.token_to_piece = [this](int32_t id) { return tok_.token_to_piece(id, true); };
    sc.tokenize = [this](const std::string& text) { return tok_.encode(text, false, true); };
    try {
      s.chain = std::make_unique<SamplerChain>(r.sampling, tok_.n_vocab(), sc);
    } catch (const Error& e) {
      finish_slot(s, FinishReason::Error, e.what());
      continue;
    }
    for (TokenId p : r.prompt) s.chain->accept(p);  // llama.cpp's penalties see the prompt
  }
}

void Scheduler::drop_dead_slots() {
  const auto now = Clock::now();
  Clock::time_point global;
  {
    std::lock_guard<std::mutex> lock(m_);
    global = deadline_;
  }
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (!s.task) continue;
    if (s.task->cancelled() || now >= global) finish_slot(s, FinishReason::Cancelled);
    else if (now >= s.task->request.deadline) finish_slot(s, FinishReason::Timeout);
  }
}

bool Scheduler::build_batch() {
  batch_.clear();
  prompt_in_batch_ = 0;
  std::fill(batch_slot_.begin(), batch_slot_.end(), -1);
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (!s.task || !s.generating) continue;
    batch_slot_[static_cast<size_t>(batch_.size())] = s.id;
    batch_.add(s.next, s.seq, static_cast<int32_t>(engine_.seq_length(s.seq)), kOutputLogits);
  }
  // Prompt chunks fill the rest, starting at a rotating slot so that no
  // long prompt starves the others.
  const size_t n = slots_.size();
  for (size_t k = 0; k < n && batch_.size() < batch_.capacity(); ++k) {
    Slot& s = *slots_[(rr_ + k) % n];
    if (!s.task || s.generating) continue;
    const auto& prompt = s.task->request.prompt;
    const int64_t left = static_cast<int64_t>(prompt.size()) - s.prompt_done;
    const int64_t take = std::min(left, batch_.capacity() - batch_.size());
    for (int64_t i = 0; i < take; ++i) {
      const int64_t p = s.prompt_done + i;
      const bool last = p + 1 == static_cast<int64_t>(prompt.size());
      if (last) batch_slot_[static_cast<size_t>(batch_.size())] = s.id;
      batch_.add(prompt[static_cast<size_t>(p)], s.seq, static_cast<int32_t>(p), last ? kOutputLogits : kOutputNone);
    }
    s.prompt_done += take;
    prompt_in_batch_ += take;
  }
  rr_ = (rr_ + 1) % std::max<size_t>(n, 1);
  return batch_.size() > 0;
}

void Scheduler::handle_token(Slot& s, TokenId tok, const float* logits) {
  const GenerationRequest& r = s.task->request;
  if (tok_.is_eog(tok) && !r.sampling.ignore_eos) {
    finish_slot(s, FinishReason::Stop);
    return;
  }
  s.chain->accept(tok);
  ++s.sum.n_generated;
  TaskEvent ev;
  ev.text = s.filter.add(tok_.token_to_piece(tok, false));
  if (r.logprobs || r.n_probs > 0) ev.tokens.push_back(logprobs_of(logits, tok_.n_vocab(), tok, r.n_probs));
  if (!ev.text.empty() || !ev.tokens.empty()) s.task->push(std::move(ev));
  if (s.filter.stopped()) {
    s.sum.stop_word = s.filter.stop_word();
    finish_slot(s, FinishReason::Stop);
  } else if ((r.n_predict >= 0 && s.sum.n_generated >= r.n_predict) ||
             engine_.seq_length(s.seq) + 2 > engine_.n_ctx_seq()) {  // prompt + generated fill the slot
    finish_slot(s, FinishReason::Length);
  } else {
    s.next = tok;
    s.generating = true;
  }
}

void Scheduler::after_decode() {
  for (int64_t i = 0; i < batch_.size(); ++i) {
    const int id = batch_slot_[static_cast<size_t>(i)];
    if (id < 0) continue;
    Slot& s = *slots_[static_cast<size_t>(id)];
    if (!s.task) continue;
    if (!s.generating) s.t_first = Clock::now();
    const float* logits = engine_.logits(i);
    TokenId tok;
    try {
      const auto& forced = s.task->request.forced_output;
      const auto k = static_cast<size_t>(s.sum.n_generated);
      tok = k < forced.size() ? forced[k] : s.chain->sample(logits);
    } catch (const Error& e) {
      finish_slot(s, FinishReason::Error, e.what());
      continue;
    }
    handle_token(s, tok, logits);
  }
}

void Scheduler::finish_slot(Slot& s, FinishReason r, const std::string& error) {
  const std::string rest = s.filter.flush();
  if (!rest.empty()) s.task->push(TaskEvent{rest, {}});
  const auto now = Clock::now();
  const bool started = s.generating || s.sum.n_generated > 0;
  s.sum.reason = r;
  s.sum.error = error;
  s.sum.prompt_ms = ms_between(s.t_admit, started ? s.t_first : now);
  s.sum.generation_ms = started ? ms_between(s.t_first, now) : 0;
  {
    // Counted, and the slot shown free, before the client is answered: a
    // client that reads /metrics or /slots after its answer sees it done.
    std::lock_guard<std::mutex> lock(m_);
    stats_.generated_tokens += s.sum.n_generated;
    stats_.cached_tokens += s.sum.n_cached;
    if (r == FinishReason::Cancelled) ++stats_.requests_cancelled;
    else ++stats_.requests_done;
    if (s.view_busy) --stats_.busy_slots;
    s.view_busy = false;
    s.view_prompt = s.view_generated = 0;
  }
  s.task->finish(s.sum);
  if (s.seq >= 0) engine_.seq_free(s.seq);
  s.seq = -1;
  s.task.reset();
  s.chain.reset();
  s.generating = false;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_);
      const auto busy = [&] { return std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return s->task != nullptr; }); };
      cv_.wait(lock, [&] { return stopping_ || (!paused_ && (!queue_.empty() || busy())); });
      if (stopping_ && (Clock::now() >= deadline_ || (queue_.empty() && !busy()))) {
        lock.unlock();
        for (auto& s : slots_) {
          if (s->task) finish_slot(*s, FinishReason::Cancelled);
        }
        lock.lock();
        for (auto& t : queue_) {
          TaskSummary sum;
          sum.reason = FinishReason::Cancelled;
          t->finish(sum);
        }
        queue_.clear();
        return;
      }
    }
    admit();
    drop_dead_slots();
    if (!build_batch()) {  // every slot finished or was dropped
      publish_views();
      continue;
    }
    const int64_t n_prompt_tokens = prompt_in_batch_;
    const auto t0 = Clock::now();
    try {
      engine_.decode(batch_);
    } catch (const std::exception& e) {
      for (auto& s : slots_) {
        if (s->task) finish_slot(*s, FinishReason::Error, e.what());
      }
      publish_views();
      continue;
    }
    after_decode();
    const double secs = ms_between(t0, Clock::now()) / 1000.0;
    {
      std::lock_guard<std::mutex> lock(m_);
      ++stats_.steps;
      stats_.prompt_tokens += n_prompt_tokens;
      if (n_prompt_tokens > 0) stats_.prompt_seconds += secs;
      else stats_.generation_seconds += secs;
    }
    publish_views();
  }
}

void Scheduler::publish_views() {
  std::lock_guard<std::mutex> lock(m_);
  stats_.busy_slots = 0;
  for (auto& s : slots_) {
    s->view_busy = s->task != nullptr;
    s->view_prompt = s->task ? s->sum.n_prompt : 0;
    s->view_generated = s->task ? s->sum.n_generated : 0;
    stats_.busy_slots += s->view_busy ? 1 : 0;
  }
  const PrefixCacheStats ps = engine_.kv().prefix_stats();
  stats_.prefix_lookups = ps.lookups;
  stats_.prefix_hits = ps.hits;
  stats_.kv_used_ratio = 1.0 - static_cast<double>(engine_.kv().n_free_pages()) / static_cast<double>(engine_.kv().n_pages());
}

}  // namespace kestrel::server
