// best_of(): `kestrel bench` probes the hardware limits before and after its
// tests and divides by each limit's larger value.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kestrel
