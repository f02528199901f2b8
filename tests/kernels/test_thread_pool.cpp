// Thread pool tests: run() calls every thread index exactly once and
// concurrently; for_each() runs every item exactly once with a valid thread
// index, also under a stress of thousands of tiny jobs of both kinds back to
// back (the pattern of a decode step), which is where a late worker would
// join a finished job or skip a `run` job if the publication were wrong.
#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace kestrel
