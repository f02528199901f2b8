// Hardware limit measurements (hardware_peaks.h).
#include "perf/hardware_peaks.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sys/mman.h>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace kestrel {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs loop(iters) on every thread; returns total ops/s of the best rep.
double threaded_peak(int n_threads, double (*loop)(int64_t)) {
  ThreadPool pool(n_threads);
  const int64_t iters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::atomic<double> ops{0};
    const double t0 = now_s();
    pool.run([&](int, int) {
      const double o = loop(iters);
      double cur = ops.load();
      while (!ops.compare_exchange_weak(cur, cur + o)) {
      }
    });
    best = std::max(best, ops.load() / (now_s() - t0));
  }
  return best;
}

}  // namespace

double measure_read_bandwidth(int n_threads, int64_t bytes, int reps) {
  bytes = std::max<int64_t>(bytes, int64_t(1) << 30);
  // 2 MiB aligned and advised for huge pages, like the engine's packed
  // weights, so the probe pays the same (few) page walks.
  constexpr size_t kAlign = size_t(2) << 20;
  const size_t n = static_cast<size_t>(bytes) / sizeof(uint64_t);
  const size_t alloc = (n * sizeof(uint64_t) + kAlign - 1) / kAlign * kAlign;
  auto* buf = static_cast<uint64_t*>(std::aligned_alloc(kAlign, alloc));
  if (!buf) return 0.0;
  madvise(buf, alloc, MADV_HUGEPAGE);
  ThreadPool pool(n_threads);
  // Each thread reads one contiguous, 64-byte-aligned slice; first touch
  // from the same thread so pages are spread as the reads will be.
  const size_t per = (n / n_threads) & ~size_t(7);
  pool.run([&](int ith, int) {
    for (size_t i = per * ith; i < per * (ith + 1); ++i) buf[i] = i;
  });
  const bool avx2 = cpu_has_avx2();
  const bool avx512 = active_isa() >= Isa::Avx512;
  double best = 0;
  std::atomic<uint64_t> sink{0};
  // Passes alternate plain loads and loads with software prefetch; the
  // best pass of either is the limit (whichever the hardware favours).
  for (int rep = 0; rep < 2 * reps; ++rep) {
    const double t0 = now_s();
    pool.run([&](int ith, int) {
      const uint64_t* p = buf + per * ith;
      uint64_t s = 0;
      if (avx512) {
        s = stream_read_avx512(p, per * sizeof(uint64_t), rep % 2 == 1);
      } else if (avx2) {
        s = stream_read_avx2(p, per * sizeof(uint64_t), rep % 2 == 1);
      } else {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 4 <= per; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
        s = s0 + s1 + s2 + s3;
      }
      sink.fetch_add(s);
    });
    best = std::max(best, static_cast<double>(per * n_threads * sizeof(uint64_t)) / (now_s() - t0));
  }
  std::free(buf);
  return best;
}

double measure_f32_fma_peak(int n_threads) {
  if (active_isa() >= Isa::Avx512) return threaded_peak(n_threads, f32_fma_loop_avx512);
  return cpu_has_avx2() ? threaded_peak(n_threads, f32_fma_loop_avx2) : 0.0;
}

double measure_int8_dot_peak(int n_threads) {
  if (active_isa() >= Isa::Avx512) return threaded_peak(n_threads, int8_dot_loop_avx512);
  return cpu_has_avx2() ? threaded_peak(n_threads, int8_dot_loop_avx2) : 0.0;
}

HardwarePeaks measure_hardware_peaks(int n_threads) {
  HardwarePeaks p;
  p.threads = n_threads;
  p.read_bandwidth = measure_read_bandwidth(n_threads);
  p.f32_peak = measure_f32_fma_peak(n_threads);
  p.int8_peak = measure_int8_dot_peak(n_threads);
  return p;
}

HardwarePeaks best_of(const HardwarePeaks& a, const HardwarePeaks& b) {
  HardwarePeaks r;
  r.read_bandwidth = std::max(a.read_bandwidth, b.read_bandwidth);
  r.f32_peak = std::max(a.f32_peak, b.f32_peak);
  r.int8_peak = std::max(a.int8_peak, b.int8_peak);
  r.threads = a.threads != 0 ? a.threads : b.threads;
  return r;
}

}  // namespace kestrel
