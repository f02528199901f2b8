// Thread pool tests: run() calls every thread index exactly once and
// concurrently; for_each() runs every item exactly once with a valid thread
// index, also under a stress of thousands of tiny jobs of both kinds back to
// back (the pattern of a decode step), which is where a late worker would
// join a finished job or skip a `run` job if the publication were wrong.
// for_ranges() covers [0, n) exactly once with pieces that each thread takes
// front to back from its own share, also when one thread is much slower and
// the others must steal.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/thread_pool.h"

namespace kestrel {
namespace {

TEST(ThreadPool, RunCallsEveryIndexOnceConcurrently) {
  for (int nt : {1, 2, 3, 4}) {
    ThreadPool pool(nt);
    for (int rep = 0; rep < 10; ++rep) {
      std::vector<std::atomic<int>> calls(static_cast<size_t>(nt));
      std::atomic<int> arrived{0};
      pool.run([&](int ith, int nth) {
        ASSERT_EQ(nth, nt);
        calls[static_cast<size_t>(ith)].fetch_add(1);
        // Every thread must be inside the job at the same time.
        arrived.fetch_add(1);
        while (arrived.load() < nth) {
        }
      });
      for (int i = 0; i < nt; ++i) EXPECT_EQ(calls[static_cast<size_t>(i)].load(), 1) << "threads " << nt;
    }
  }
}

TEST(ThreadPool, ForEachRunsEveryItemOnce) {
  for (int nt : {1, 2, 3, 4}) {
    ThreadPool pool(nt);
    for (int64_t n : {0, 1, 2, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> bad_thread{false};
      pool.for_each(n, [&](int64_t i, int thread) {
        if (thread < 0 || thread >= nt) bad_thread = true;
        hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " item " << i;
      EXPECT_FALSE(bad_thread.load());
    }
  }
}

TEST(ThreadPool, StressOfTinyMixedJobs) {
  // 3 threads on (typically) 2 cores: workers are often descheduled, the
  // case the late-join protocol exists for. `run` jobs are rarer because
  // each needs every thread scheduled.
  ThreadPool pool(3);
  int64_t expected = 0;
  std::atomic<int64_t> total{0};
  for (int rep = 0; rep < 20000; ++rep) {
    if (rep % 100 == 0) {
      pool.run([&](int ith, int) { total.fetch_add(ith + 1); });
      expected += 1 + 2 + 3;
    } else {
      const int64_t n = rep % 7 + 1;
      // A job-local counter on this stack frame: a worker that touched it
      // after for_each returned would corrupt a later iteration's count.
      std::atomic<int64_t> local{0};
      pool.for_each(n, [&](int64_t i, int) { local.fetch_add(i + 1); });
      ASSERT_EQ(local.load(), n * (n + 1) / 2) << "rep " << rep;
      total.fetch_add(local.load());
      expected += n * (n + 1) / 2;
    }
  }
  EXPECT_EQ(total.load(), expected);
}

// Pieces seen by one for_ranges call, checked for an exact cover of [0, n).
struct RangeLog {
  std::mutex mu;
  std::vector<std::tuple<int64_t, int64_t, int>> pieces;  // begin, end, thread

  void add(int64_t b, int64_t e, int t) {
    std::lock_guard<std::mutex> lock(mu);
    pieces.emplace_back(b, e, t);
  }
  // Empty string when the pieces tile [0, n) with no gap or overlap.
  std::string cover_error(int64_t n, int nt) {
    std::sort(pieces.begin(), pieces.end());
    int64_t next = 0;
    for (const auto& [b, e, t] : pieces) {
      if (t < 0 || t >= nt) return "bad thread index";
      if (b != next || e <= b) return "piece [" + std::to_string(b) + ", " + std::to_string(e) + ") after " +
                                      std::to_string(next);
      next = e;
    }
    return next == n ? "" : "covered up to " + std::to_string(next);
  }
};

TEST(ThreadPool, ForRangesCoversEveryUnitOnce) {
  for (int nt : {1, 2, 3, 4}) {
    ThreadPool pool(nt);
    for (int64_t n : {0, 1, 2, 3, 5, 16, 100, 1000, 8017}) {
      RangeLog log;
      pool.for_ranges(n, [&](int64_t b, int64_t e, int t) { log.add(b, e, t); });
      EXPECT_EQ(log.cover_error(n, nt), "") << "threads " << nt << " n " << n;
    }
  }
}

TEST(ThreadPool, ForRangesOwnersWalkFrontToBackAndSlowSharesGetStolen) {
  // The caller's pieces are slow, so the worker (when it wakes in time) must
  // take over the back of the caller's share. Every thread starts at the
  // front of a share and walks on from there: its first pieces are
  // contiguous and rising.
  ThreadPool pool(2);
  constexpr int64_t n = 400;
  for (int rep = 0; rep < 5; ++rep) {
    RangeLog log;
    std::vector<std::vector<std::pair<int64_t, int64_t>>> by_thread(2);
    pool.for_ranges(n, [&](int64_t b, int64_t e, int t) {
      log.add(b, e, t);
      by_thread[static_cast<size_t>(t)].emplace_back(b, e);  // each thread writes only its own list
      if (t == 0) std::this_thread::sleep_for(std::chrono::microseconds(200 * (e - b)));
    });
    ASSERT_EQ(log.cover_error(n, 2), "") << "rep " << rep;
    const auto& worker = by_thread[1];
    int64_t by_worker = 0;
    for (const auto& [b, e] : worker) by_worker += e - b;
    // The caller sleeps 200 us per unit: a worker that joined did most.
    if (by_worker > 0) {
      EXPECT_GT(by_worker, n / 2) << "rep " << rep;
    }
    for (const auto& pieces : by_thread) {
      if (pieces.empty()) continue;
      EXPECT_TRUE(pieces[0].first == 0 || pieces[0].first == n / 2) << "rep " << rep;
      if (pieces.size() > 1 && pieces[0].second - pieces[0].first < n / 2) {
        EXPECT_EQ(pieces[1].first, pieces[0].second) << "rep " << rep << ": the owner's second piece follows its first";
      }
    }
  }
}

}  // namespace
}  // namespace kestrel
