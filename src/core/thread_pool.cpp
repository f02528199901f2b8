// Implementation of the spinning-then-sleeping thread pool (thread_pool.h).
//
// Job publication is a seqlock on posted_: the caller makes it odd, writes
// the job fields, makes it even; a worker that saw an even value read the
// fields consistently if the value has not changed meanwhile. A worker that
// slept through several `for_each` jobs just joins the latest one; a `run`
// job cannot be skipped because its caller waits for every worker.
#include "core/thread_pool.h"

#include <algorithm>
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

namespace {

// One thread's share of a for_ranges job: [front, back) still unclaimed,
// packed in one word so the owner (taking from the front) and a thief
// (taking from the back) can never both take the same unit.
struct alignas(64) Share {
  std::atomic<uint64_t> v{0};
  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | (static_cast<uint64_t>(back) << 32);
  }
  static int64_t front(uint64_t v) { return static_cast<int64_t>(v & 0xffffffffu); }
  static int64_t back(uint64_t v) { return static_cast<int64_t>(v >> 32); }
};
constexpr int kMaxShares = 64;

// Takes up to `want(left)` units from the front (owner) or the back (thief)
// of s; returns false when s is empty.
template <bool kFromBack, typename Want>
bool take(Share& s, Want want, int64_t& begin, int64_t& end) {
  uint64_t v = s.v.load(std::memory_order_acquire);
  for (;;) {
    const int64_t f = Share::front(v), b = Share::back(v);
    if (f >= b) return false;
    const int64_t k = want(b - f);
    const uint64_t next = kFromBack ? Share::pack(f, b - k) : Share::pack(f + k, b);
    if (s.v.compare_exchange_weak(v, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      begin = kFromBack ? b - k : f;
      end = kFromBack ? b : f + k;
      return true;
    }
  }
}

}  // namespace

void ThreadPool::for_ranges(int64_t n, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  if (n > 0xffffffffLL) {  // beyond the packed word: plain equal pieces
    constexpr int64_t kPieces = 1024;
    for_each(kPieces, [&](int64_t i, int thread) { fn(n * i / kPieces, n * (i + 1) / kPieces, thread); });
    return;
  }
  const int parts = static_cast<int>(std::min<int64_t>({n_threads_, n, kMaxShares}));
  if (parts == 1) {
    fn(0, n, 0);
    return;
  }
  Share shares[kMaxShares];
  for (int i = 0; i < parts; ++i) shares[i].v.store(Share::pack(n * i / parts, n * (i + 1) / parts));
  // The owner takes a quarter of what is left (few calls, and the last
  // pieces are small: an eighth made twice the calls and more idle time at
  // decode); a thief takes half of the largest share left.
  auto own_piece = [](int64_t left) { return std::max<int64_t>(1, left / 4); };
  auto stolen_piece = [](int64_t left) { return std::max<int64_t>(1, left / 2); };
  for_each(parts, [&](int64_t item, int thread) {
    Share& mine = shares[item];
    int64_t b = 0, e = 0;
    for (;;) {
      while (take<false>(mine, own_piece, b, e)) fn(b, e, thread);
      int victim = -1;
      int64_t most = 0;
      for (int i = 0; i < parts; ++i) {
        const uint64_t v = shares[i].v.load(std::memory_order_relaxed);
        if (Share::back(v) - Share::front(v) > most) {
          most = Share::back(v) - Share::front(v);
          victim = i;
        }
      }
      if (victim < 0) return;
      // The stolen part becomes this thread's share, walked front to back
      // and open to stealing in turn, so no thread is left finishing a
      // large piece alone.
      if (take<true>(shares[victim], stolen_piece, b, e)) mine.v.store(Share::pack(b, e), std::memory_order_release);
    }
  });
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
