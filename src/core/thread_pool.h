// A small fixed thread pool for data-parallel kernels.
//
// Two ways to hand it work:
//  - run(fn): fn(ith, nth) on every thread at once (the caller is thread 0),
//    returning when all are done. For work that must run concurrently on
//    every thread (hardware probes) or is split statically by ith.
//  - for_each(n, fn): fn(item, thread) for item in [0, n), claimed one at a
//    time from a shared counter by the caller and whichever workers wake up
//    in time; returns when every item is done. A worker the OS has
//    descheduled (other processes share the cores) simply claims fewer
//    items, and the caller never waits for a worker that took none: late
//    workers see the job's generation has moved on and touch nothing.
//    `thread` is the executing thread's index (0 = caller), for per-thread
//    scratch.
//  - for_ranges(n, fn): fn(begin, end, thread) over disjoint pieces covering
//    [0, n). Each thread starts on its own contiguous share and walks it
//    front to back, so its memory stream never jumps (the hardware
//    prefetchers keep running across pieces); a thread that runs out
//    steals the back half of the largest share left, so the threads still
//    finish together when one core is slower. Built on for_each, with the
//    same guarantees for descheduled workers.
//
// Workers spin briefly on a posting counter before sleeping, so the ~100
// short dispatches of one decode step cost a cache-line round trip each
// instead of a futex wake-up, and nothing on the dispatch path allocates
// (callables are passed by reference, never copied into std::function).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace kestrel {

// A non-owning reference to a callable (no allocation, no copy).
template <typename Sig>
class FunctionRef;

template <typename R, typename... A>
class FunctionRef<R(A...)> {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT: implicit, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) for ith in [0, nth) concurrently; blocks until done.
  void run(FunctionRef<void(int ith, int nth)> fn);

  // Runs fn(item, thread) for every item in [0, n_items) (n_items < 2^31),
  // dynamically scheduled as described above; blocks until all are done.
  void for_each(int64_t n_items, FunctionRef<void(int64_t item, int thread)> fn);

  // Covers [0, n) with fn(begin, end, thread) calls on disjoint pieces,
  // scheduled as described above (n >= 2^32: 1024 equal pieces through
  // for_each instead); blocks until all are done.
  void for_ranges(int64_t n, FunctionRef<void(int64_t begin, int64_t end, int thread)> fn);

  // Splits [0, n) into nth contiguous chunks; returns chunk ith as [begin, end).
  static void split(int64_t n, int ith, int nth, int64_t& begin, int64_t& end) {
    const int64_t per = (n + nth - 1) / nth;
    begin = per * ith < n ? per * ith : n;
    end = begin + per < n ? begin + per : n;
  }

 private:
  enum class Kind { All, Items };
  using AllFn = FunctionRef<void(int, int)>;
  using ItemFn = FunctionRef<void(int64_t, int)>;

  void post();  // publishes the job fields stored since posted_ was made odd
  // Runs items of job `gen` (fn, n) until none are left or the job is over.
  void claim_items(uint64_t gen, const ItemFn* fn, int64_t n, int thread);
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  // The current job (seqlock-protected by posted_, see thread_pool.cpp).
  std::atomic<Kind> kind_{Kind::All};
  std::atomic<const AllFn*> all_fn_{nullptr};
  std::atomic<const ItemFn*> item_fn_{nullptr};
  std::atomic<int64_t> n_items_{0};
  std::atomic<uint64_t> job_gen_{0};
  // Items jobs: (generation << 32) | next item index; done counts finished items.
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int64_t> done_{0};
  alignas(64) std::atomic<int> pending_{0};     // All jobs: workers still running
  alignas(64) std::atomic<uint64_t> posted_{0}; // number of jobs posted
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint32_t generation_ = 0;                     // caller-side copy of claim_'s high half
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Default thread count: the number of physical cores (hardware threads / 2
// when SMT siblings are visible, at least 1), as llama.cpp's default.
int default_thread_count();

}  // namespace kestrel
