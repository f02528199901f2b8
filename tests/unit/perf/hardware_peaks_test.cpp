// best_of(): `kestrel bench` probes the hardware limits before and after its
// tests and divides by each limit's larger value.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "core/cpu_features.h"
#include "perf/hardware_peaks.h"

namespace kestrel {
namespace {


TEST(HardwarePeaks, BestOfTakesEachLimitsLargerValue) {
  HardwarePeaks before{30e9, 190e9, 400e9, 2};
  HardwarePeaks after{33e9, 150e9, 520e9, 2};
  const HardwarePeaks b = best_of(before, after);
  EXPECT_EQ(b.read_bandwidth, 33e9);
  EXPECT_EQ(b.f32_peak, 190e9);
  EXPECT_EQ(b.int8_peak, 520e9);
  EXPECT_EQ(b.threads, 2);
  // Symmetric, and a probe that measured nothing (0: no AVX2) never wins.
  const HardwarePeaks c = best_of(after, before);
  EXPECT_EQ(c.read_bandwidth, b.read_bandwidth);
  EXPECT_EQ(c.f32_peak, b.f32_peak);
  EXPECT_EQ(c.int8_peak, b.int8_peak);
  const HardwarePeaks none{31e9, 0, 0, 1};
  EXPECT_EQ(best_of(none, HardwarePeaks{29e9, 0, 0, 1}).f32_peak, 0);
  EXPECT_EQ(best_of(none, HardwarePeaks{29e9, 0, 0, 1}).read_bandwidth, 31e9);
}

// The streaming-read probes really read every byte: their sums equal the
// plain sum, at every level this CPU runs.
TEST(HardwarePeaks, StreamReadsSumEveryWord) {
  constexpr size_t n = 4096 + 24;  // 64-byte aligned (the 512-bit probe uses aligned loads)
  std::unique_ptr<uint64_t, decltype(&std::free)> buf(static_cast<uint64_t*>(std::aligned_alloc(64, n * 8)), &std::free);
  uint64_t want = 0;
  for (size_t i = 0; i < n; ++i) want += buf.get()[i] = i * 2654435761u;
  if (cpu_supports(Isa::Avx2)) {
    for (bool prefetch : {false, true}) EXPECT_EQ(stream_read_avx2(buf.get(), n * 8, prefetch), want);
  }
  if (cpu_supports(Isa::Avx512)) {
    for (bool prefetch : {false, true}) EXPECT_EQ(stream_read_avx512(buf.get(), n * 8, prefetch), want);
  }
}

// The compute probes count what they issue: 2 ops per multiply-add lane.
TEST(HardwarePeaks, ComputeLoopsCountTheirOperations) {
  if (cpu_supports(Isa::Avx2)) {
    EXPECT_EQ(f32_fma_loop_avx2(1000), 1000.0 * 10 * 8 * 2);
    EXPECT_EQ(int8_dot_loop_avx2(1000), 1000.0 * 4 * 32 * 2);
  }
  if (cpu_supports(Isa::Avx512)) {
    EXPECT_EQ(f32_fma_loop_avx512(1000), 1000.0 * 12 * 16 * 2);
    EXPECT_EQ(int8_dot_loop_avx512(1000), 1000.0 * 8 * 64 * 2);
  }
}

}  // namespace
}  // namespace kestrel
