// A small fixed thread pool for data-parallel kernels.
//
// run(fn) calls fn(ith, nth) on every thread (the caller is thread 0) and
// returns when all are done. Workers spin briefly before sleeping so that the
// ~200 short ops of one decode step don't each pay a futex wake-up; the spin
// budget is bounded so an idle pool costs nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kestrel {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) for ith in [0, nth) concurrently; blocks until done.
  void run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into nth contiguous chunks; returns chunk ith as [begin, end).
  static void split(int64_t n, int ith, int nth, int64_t& begin, int64_t& end) {
    const int64_t per = (n + nth - 1) / nth;
    begin = per * ith < n ? per * ith : n;
    end = begin + per < n ? begin + per : n;
  }

 private:
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Default thread count: the number of physical cores (hardware threads / 2
// when SMT siblings are visible, at least 1), as llama.cpp's default.
int default_thread_count();

}  // namespace kestrel
