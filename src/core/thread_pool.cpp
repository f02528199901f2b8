// Implementation of the spinning-then-sleeping thread pool (thread_pool.h).
//
// Job publication is a seqlock on posted_: the caller makes it odd, writes
// the job fields, makes it even; a worker that saw an even value read the
// fields consistently if the value has not changed meanwhile. A worker that
// slept through several `for_each` jobs just joins the latest one; a `run`
// job cannot be skipped because its caller waits for every worker.
#include "core/thread_pool.h"

#include <fstream>
#include <set>
#include <string>

#include <immintrin.h>

namespace kestrel {
namespace {
constexpr int kSpinIterations = 200000;  // ~a few milliseconds of pause loops
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  posted_.fetch_add(2);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  for (auto& t : threads_) t.join();
}

void ThreadPool::post() {
  // The caller already stored the fields between the two increments.
  posted_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
}

void ThreadPool::run(AllFn fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  posted_.fetch_add(1, std::memory_order_seq_cst);  // odd: fields being written
  kind_.store(Kind::All, std::memory_order_relaxed);
  all_fn_.store(&fn, std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  post();
  fn(0, n_threads_);
  while (pending_.load(std::memory_order_acquire) != 0) _mm_pause();
}

void ThreadPool::for_each(int64_t n_items, ItemFn fn) {
  if (n_items <= 0) return;
  if (n_threads_ == 1 || n_items == 1) {
    for (int64_t i = 0; i < n_items; ++i) fn(i, 0);
    return;
  }
  const uint64_t gen = ++generation_;
  done_.store(0, std::memory_order_relaxed);
  claim_.store(gen << 32, std::memory_order_release);
  posted_.fetch_add(1, std::memory_order_seq_cst);
  kind_.store(Kind::Items, std::memory_order_relaxed);
  item_fn_.store(&fn, std::memory_order_relaxed);
  n_items_.store(n_items, std::memory_order_relaxed);
  job_gen_.store(gen, std::memory_order_relaxed);
  post();
  claim_items(gen, &fn, n_items, 0);
  while (done_.load(std::memory_order_acquire) != n_items) _mm_pause();
}

void ThreadPool::claim_items(uint64_t gen, const ItemFn* fn, int64_t n, int thread) {
  uint64_t v = claim_.load(std::memory_order_acquire);
  for (;;) {
    // A different generation means the job is over (and its fn may be
    // gone): a successful claim in `gen` proves the job is still running.
    if ((v >> 32) != gen) return;
    const int64_t i = static_cast<int64_t>(v & 0xffffffffu);
    if (i >= n) return;
    if (!claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    (*fn)(i, thread);
    done_.fetch_add(1, std::memory_order_release);
    v = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t p;
    int spins = 0;
    while ((p = posted_.load(std::memory_order_acquire)) == seen && spins < kSpinIterations) {
      _mm_pause();
      ++spins;
    }
    if (p == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] { return posted_.load(std::memory_order_seq_cst) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    if (stop_.load()) return;
    if (p & 1) {  // fields being written
      _mm_pause();
      continue;
    }
    // Read the job, then check it was not replaced while reading.
    const Kind kind = kind_.load(std::memory_order_relaxed);
    const AllFn* all = all_fn_.load(std::memory_order_relaxed);
    const ItemFn* item = item_fn_.load(std::memory_order_relaxed);
    const int64_t n = n_items_.load(std::memory_order_relaxed);
    const uint64_t gen = job_gen_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (posted_.load(std::memory_order_relaxed) != p) continue;
    seen = p;
    if (kind == Kind::All) {
      (*all)(ith, n_threads_);
      pending_.fetch_sub(1, std::memory_order_release);
    } else {
      claim_items(gen, item, n, ith);
    }
  }
}

int default_thread_count() {
  // Count distinct (physical id, core id) pairs; fall back to hw threads.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(in, line)) {
    auto value = [&] { auto p = line.find(':'); return p == std::string::npos ? std::string() : line.substr(p + 2); };
    if (line.rfind("physical id", 0) == 0) phys = value();
    if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
  }
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  int n = cores.empty() ? hw : static_cast<int>(cores.size());
  if (n < 1) n = 1;
  return n;
}

}  // namespace kestrel
