// Quantize -> dequantize accuracy of every type on Gaussian data, exact
// quantizer output on hand-derived inputs, and the importance-weighted path.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "quant/blocks.h"
#include "quant/quantize.h"
#include "quant/quants_k.h"
#include "quant/type_traits.h"
#include "quant_test_util.h"

namespace kestrel {
namespace {

using test::dequantize;
using test::gaussian;
using test::quantize;
using test::relative_rms_error;

// Upper bounds on the relative RMS error for N(0,1) data, set from measured
// values (in the comments) with ~10% margin.
struct RmsBound {
  DType type;
  double bound;
};
constexpr RmsBound kRmsBounds[] = {
    {DType::F32, 0.0},       // exact
    {DType::F16, 0.00025},   // 0.00021
    {DType::BF16, 0.0019},   // 0.00167
    {DType::Q8_0, 0.0060},   // 0.00537
    {DType::Q8_1, 0.0060},   // 0.00537
    {DType::Q8_K, 0.0078},   // 0.00703 (one scale per 256 values)
    {DType::Q6_K, 0.0195},   // 0.01769
    {DType::Q5_1, 0.0415},   // 0.03764
    {DType::Q5_0, 0.0470},   // 0.04256
    {DType::Q5_K, 0.0395},   // 0.03593
    {DType::Q4_1, 0.0860},   // 0.07822
    {DType::Q4_0, 0.0950},   // 0.08652
    {DType::Q4_K, 0.0785},   // 0.07137
    {DType::Q3_K, 0.167},    // 0.15172
    {DType::Q2_K, 0.327},    // 0.29726
};

double round_trip_error(DType type, const std::vector<float>& x) {
  const TypeTraits& tt = type_traits(type);
  return relative_rms_error(x, dequantize(tt, quantize(tt, x), x.size()));
}

TEST(QuantizeRoundTrip, RelativeRmsErrorWithinBoundOnGaussianData) {
  const std::vector<float> x = gaussian(256 * 64, 1234);
  for (const RmsBound& b : kRmsBounds) {
    EXPECT_LE(round_trip_error(b.type, x), b.bound) << type_traits(b.type).name;
  }
}

TEST(QuantizeRoundTrip, ErrorIsScaleInvariant) {
  // Every format stores a per-block scale, so scaling the input by a power
  // of two (exact in fp16 too, away from its range limits) scales the
  // reconstruction exactly.
  const std::vector<float> x = gaussian(256 * 8, 99);
  std::vector<float> x8(x.size());
  for (size_t i = 0; i < x.size(); ++i) x8[i] = x[i] * 8.f;
  for (const TypeTraits& tt : all_type_traits()) {
    const std::vector<float> y = dequantize(tt, quantize(tt, x), x.size());
    const std::vector<float> y8 = dequantize(tt, quantize(tt, x8), x.size());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y8[i], y[i] * 8.f) << tt.name << " at " << i;
  }
}

TEST(QuantizeRoundTrip, KQuantQualityIsOrderedByBits) {
  const std::vector<float> x = gaussian(256 * 64, 4321);
  const DType worst_to_best[] = {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0};
  for (size_t i = 0; i + 1 < std::size(worst_to_best); ++i) {
    EXPECT_GT(round_trip_error(worst_to_best[i], x), round_trip_error(worst_to_best[i + 1], x))
        << type_traits(worst_to_best[i]).name;
  }
  EXPECT_GT(round_trip_error(DType::Q4_0, x), round_trip_error(DType::Q4_1, x));
  EXPECT_GT(round_trip_error(DType::Q4_1, x), round_trip_error(DType::Q5_0, x));
  EXPECT_GT(round_trip_error(DType::Q5_0, x), round_trip_error(DType::Q5_1, x));
}

TEST(QuantizeRoundTrip, ZerosStayZero) {
  const std::vector<float> x(512, 0.f);
  for (const TypeTraits& tt : all_type_traits()) {
    for (float y : dequantize(tt, quantize(tt, x), x.size())) ASSERT_EQ(y, 0.f) << tt.name;
  }
}

TEST(QuantizeRoundTrip, NonFiniteInputStaysInItsBlock) {
  // A NaN or inf must not crash the quantizer nor leak into other blocks.
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.is_quantized) continue;
    const size_t bs = static_cast<size_t>(tt.block_size);
    std::vector<float> x = gaussian(2 * bs, 7);
    const std::vector<float> second(x.begin() + static_cast<long>(bs), x.end());
    const std::vector<uint8_t> expected = quantize(tt, second);
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      x[3] = bad;
      const std::vector<uint8_t> q = quantize(tt, x);
      ASSERT_EQ(std::memcmp(q.data() + tt.block_bytes, expected.data(), tt.block_bytes), 0) << tt.name;
    }
  }
}

// ---- Exact output on hand-derived inputs ------------------------------------

TEST(QuantizeExact, Q4_0RampWithNegativeExtreme) {
  // x_j = j - 16: the extreme is -16, so d = -16 / -8 = 2 and level
  // = trunc(x/2 + 8.5) = trunc(j/2 + 0.5), capped at 15.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ4_0 b;
  type_traits(DType::Q4_0).from_float(x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x4000);  // 2.0
  for (int j = 0; j < 16; ++j) {
    const int lo = (j + 1) / 2, hi = std::min(15, (j + 17) / 2);
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
}

TEST(QuantizeExact, Q4_0RampWithPositiveExtreme) {
  // x_j = j: the extreme is +31, so d = 31 / -8 = -3.875 (fp16 0xC3C0) and
  // level = trunc(8.5 - 8j/31) = floor((527 - 16j) / 62) (never near a tie).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j);
  BlockQ4_0 b;
  type_traits(DType::Q4_0).from_float(x.data(), &b, 32);
  EXPECT_EQ(b.d, 0xC3C0);
  for (int j = 0; j < 16; ++j) {
    const int lo = (527 - 16 * j) / 62, hi = (527 - 16 * (j + 16)) / 62;
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
}

TEST(QuantizeExact, Q4_1Ramp) {
  // x_j = j: min 0, d = 31/15 (fp16 0x4022), level = round(15j/31).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j);
  BlockQ4_1 b;
  type_traits(DType::Q4_1).from_float(x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x4022);
  EXPECT_EQ(b.m, 0x0000);
  for (int j = 0; j < 16; ++j) {
    const int lo = (30 * j + 31) / 62, hi = (30 * (j + 16) + 31) / 62;
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
}

TEST(QuantizeExact, Q5_0AndQ5_1Ramps) {
  // Q5_0 on x_j = j - 16: d = 1, level j. Q5_1 on x_j = j/2: d = 0.5, m = 0,
  // level j. Either way the high bits are set for j >= 16.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  BlockQ5_0 b0;
  type_traits(DType::Q5_0).from_float(x.data(), &b0, 32);
  EXPECT_EQ(b0.d, 0x3C00);
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * static_cast<float>(j);
  BlockQ5_1 b1;
  type_traits(DType::Q5_1).from_float(x.data(), &b1, 32);
  EXPECT_EQ(b1.d, 0x3800);
  EXPECT_EQ(b1.m, 0x0000);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(b0.qs[j], j | (j << 4)) << j;
    EXPECT_EQ(b1.qs[j], j | (j << 4)) << j;
  }
  const uint8_t qh[4] = {0x00, 0x00, 0xFF, 0xFF};
  EXPECT_EQ(std::memcmp(b0.qh, qh, 4), 0);
  EXPECT_EQ(std::memcmp(b1.qh, qh, 4), 0);
}

TEST(QuantizeExact, Q8_0AndQ8_1Ramp) {
  // x_j = 8j - 127: amax 127 so d = 1 and q = x; Q8_1's s = sum = -96.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(8 * j - 127);
  BlockQ8_0 b0;
  BlockQ8_1 b1;
  type_traits(DType::Q8_0).from_float(x.data(), &b0, 32);
  type_traits(DType::Q8_1).from_float(x.data(), &b1, 32);
  EXPECT_EQ(b0.d, 0x3C00);
  EXPECT_EQ(b1.d, 0x3C00);
  EXPECT_EQ(b1.s, 0xD600);  // -96
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(b0.qs[j], 8 * j - 127);
    EXPECT_EQ(b1.qs[j], 8 * j - 127);
  }
  // Doubling the input doubles d (fp16 2.0) and keeps the levels.
  for (float& v : x) v *= 2.f;
  type_traits(DType::Q8_0).from_float(x.data(), &b0, 32);
  EXPECT_EQ(b0.d, 0x4000);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b0.qs[j], 8 * j - 127);
}

TEST(QuantizeExact, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 -> d = 1; 2.5 -> 3 and -2.5 -> -3 (roundf), unlike nearbyint.
  std::vector<float> x(32, 0.f);
  x[0] = 127.f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  BlockQ8_0 b;
  type_traits(DType::Q8_0).from_float(x.data(), &b, 32);
  EXPECT_EQ(b.qs[1], 3);
  EXPECT_EQ(b.qs[2], -3);
}

TEST(QuantizeExact, Q8_KRamp) {
  // x_j = j - 128: the extreme is -128, so iscale = -127/-128 and d = 128/127;
  // levels round to nearest-even (the products are exact in float).
  std::vector<float> x(256);
  for (int j = 0; j < 256; ++j) x[j] = static_cast<float>(j - 128);
  BlockQ8_K b;
  type_traits(DType::Q8_K).from_float(x.data(), &b, 256);
  EXPECT_EQ(b.d, 1 / (127.f / 128.f));
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) {
      const int j = 16 * g + l;
      const int expected = static_cast<int>(std::nearbyint((j - 128) * 127.0 / 128.0));
      EXPECT_EQ(b.qs[j], expected) << j;
      sum += expected;
    }
    EXPECT_EQ(b.bsums[g], sum) << g;
  }
}

TEST(QuantizeExact, Q6_KRepresentsExactLevels) {
  // Sub-block j holds s_j * l with integer l in -32..31 reaching -32, and the
  // s_j are multiples of the largest one's 1/128: the reference search finds
  // the exact grid and the round trip is lossless.
  std::vector<float> x(256);
  for (int j = 0; j < 16; ++j) {
    const float s = 0.5f - 0.015625f * j;  // 64/128 .. 49/128 of 1.0
    for (int l = 0; l < 16; ++l) x[16 * j + l] = s * static_cast<float>(l % 2 ? 31 - 3 * l : -32 + 2 * l);
  }
  const TypeTraits& tt = type_traits(DType::Q6_K);
  const std::vector<float> y = dequantize(tt, quantize(tt, x), x.size());
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(y[i], x[i], 1e-6f) << i;
}

// ---- Importance-weighted quantization ---------------------------------------

TEST(QuantizeImportance, NullImportanceEqualsTheReferenceQuantizer) {
  const std::vector<float> x = gaussian(512, 5);
  for (const TypeTraits& tt : all_type_traits()) {
    std::vector<uint8_t> q(row_bytes(tt, 512));
    quantize_row_with_importance(tt.type, x.data(), q.data(), 512, nullptr);
    EXPECT_EQ(q, quantize(tt, x)) << tt.name;
  }
}

TEST(QuantizeImportance, WeightedSearchLowersTheWeightedError) {
  // Columns with large importance should be reproduced better than with the
  // unweighted quantizer; measured as sum imp * (x - y)^2 over many rows.
  const int64_t n = 1024;
  const int rows = 16;
  std::vector<float> imp = gaussian(n, 77);
  for (float& v : imp) v = std::exp(2.f * v);  // log-normal importances
  const DType types[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K,
                         DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  for (DType type : types) {
    const TypeTraits& tt = type_traits(type);
    double err_plain = 0, err_weighted = 0;
    for (int r = 0; r < rows; ++r) {
      const std::vector<float> x = gaussian(n, 1000 + r);
      std::vector<uint8_t> q(row_bytes(tt, n));
      quantize_row_with_importance(type, x.data(), q.data(), n, imp.data());
      const std::vector<float> yw = dequantize(tt, q, n);
      const std::vector<float> yp = dequantize(tt, quantize(tt, x), n);
      for (int64_t i = 0; i < n; ++i) {
        err_weighted += imp[i] * (x[i] - yw[i]) * (x[i] - yw[i]);
        err_plain += imp[i] * (x[i] - yp[i]) * (x[i] - yp[i]);
      }
    }
    EXPECT_LT(err_weighted, 0.9 * err_plain) << tt.name;
  }
}

TEST(QuantizeImportance, RejectsBadLengthsAndTypes) {
  std::vector<float> x(512, 1.f);
  std::vector<uint8_t> q(4096);
  EXPECT_THROW(quantize_row_with_importance(DType::Q4_K, x.data(), q.data(), 100, nullptr), Error);
  EXPECT_THROW(quantize_row_with_importance(DType::Q4_0, x.data(), q.data(), 0, nullptr), Error);
  EXPECT_THROW(quantize_row_with_importance(static_cast<DType>(20), x.data(), q.data(), 512, nullptr), Error);
}

}  // namespace
}  // namespace kestrel
