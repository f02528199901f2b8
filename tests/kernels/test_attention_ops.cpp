// Bit-identity of the AVX2 element-wise ops with their scalar versions:
// versions:
//  - exp_f32_avx2 against std::exp (glibc's expf) on a dense sample of all
//    floats (every 61st bit pattern, so every binade and both signs), the
//    thresholds of glibc's special cases +-1 ulp, infinities and NaN;
//  - exp_softmax_avx2 against exp_softmax (every 251st bit pattern, and
//    every 29th in [-87, 88], where its short in-range form runs), and
//    exp_softmax within 2 ulp of expf over its range [-87, 88];
//  - softmax_inplace against a plain double-precision softmax;
//  - silu_mul_avx2 against silu_mul_ref, lengths with tails;
//  - RMSNorm's 8-lane double sums of squares, AVX2 against scalar, over
//    values spanning 2^-60..2^60 (so the double sums do round), and the
//    norm against a long-double reference;
// (Attention itself: test_attention_paged.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/exp_softmax_constants.h"
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/ops.h"

namespace kestrel {
namespace {

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

class AvxOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  }
};

TEST_F(AvxOps, ExpMatchesGlibcExpfBitForBit) {
  std::vector<float> x;
  for (uint32_t edge : {0x42b17217u, 0xc2cff1b4u, 0xc2ce8ecfu, 0x42b00000u, 0xc2b00000u}) {
    for (int d = -2; d <= 2; ++d) x.push_back(from_bits(edge + static_cast<uint32_t>(d)));
  }
  for (float f : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), 0.0f, -0.0f,
                  std::numeric_limits<float>::quiet_NaN()}) {
    x.push_back(f);
  }
  int64_t bad = 0, checked = 0;
  std::vector<float> y;
  auto check = [&] {
    y.resize(x.size());
    exp_f32_avx2(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = std::exp(x[i]);
      const bool ok = std::isnan(want) ? std::isnan(y[i]) : bits(y[i]) == bits(want);
      if (!ok && ++bad <= 5) {
        ADD_FAILURE() << "expf(" << x[i] << " = 0x" << std::hex << bits(x[i]) << "): got 0x" << bits(y[i])
                      << " want 0x" << bits(want);
      }
    }
    checked += static_cast<int64_t>(x.size());
    x.clear();
  };
  check();
  for (uint64_t b = 0; b <= 0xffffffffu; b += 61) {
    x.push_back(from_bits(static_cast<uint32_t>(b)));
    if (x.size() == 4099) check();  // odd chunk: exercises the tail path
  }
  check();
  EXPECT_EQ(bad, 0) << "of " << checked << " inputs";
}

TEST_F(AvxOps, ExpSoftmaxMatchesScalarBitForBit) {
  std::vector<float> x;
  for (float edge : {kExpSoftmaxMin, kExpSoftmaxMax, 0.0f}) {
    for (int d = -2; d <= 2; ++d) x.push_back(from_bits(bits(edge) + static_cast<uint32_t>(d)));
  }
  for (float f : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), -0.0f}) {
    x.push_back(f);
  }
  for (uint64_t b = 0; b <= 0xffffffffu; b += 251) x.push_back(from_bits(static_cast<uint32_t>(b)));
  x.push_back(1.0f);  // odd length: the tail path
  std::vector<float> got(x.size());
  exp_softmax_avx2(x.data(), got.data(), static_cast<int64_t>(x.size()));
  int64_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = exp_softmax(x[i]);
    const bool ok = std::isnan(want) ? std::isnan(got[i]) : bits(got[i]) == bits(want);
    if (!ok && ++bad <= 5) ADD_FAILURE() << "exp_softmax(" << x[i] << "): got " << got[i] << " want " << want;
  }
  EXPECT_EQ(bad, 0) << "of " << x.size() << " inputs";
}

// Attention's softmax takes a shorter form (no edge-case blends, rounding
// by a magic constant) when all 8 lanes lie in [kExpSoftmaxMin,
// kExpSoftmaxMax]: check it densely over that range, every 29th float of
// each sign, in chunks.
TEST_F(AvxOps, ExpSoftmaxInRangeFormMatchesScalarBitForBit) {
  std::vector<float> x, got;
  int64_t bad = 0, checked = 0;
  auto check = [&] {
    got.resize(x.size());
    exp_softmax_avx2(x.data(), got.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = exp_softmax(x[i]);
      if (bits(got[i]) != bits(want) && ++bad <= 5) {
        ADD_FAILURE() << "exp_softmax(" << x[i] << "): got " << got[i] << " want " << want;
      }
    }
    checked += static_cast<int64_t>(x.size());
    x.clear();
  };
  for (uint32_t sign : {0x80000000u, 0u}) {
    const uint32_t last = bits(sign ? -kExpSoftmaxMin : kExpSoftmaxMax);  // magnitude bits of the bound
    for (uint32_t b = 0; b <= last; b += 29) {
      x.push_back(from_bits(sign | b));
      if (x.size() == (size_t(1) << 20)) check();
    }
    x.push_back(sign ? kExpSoftmaxMin : kExpSoftmaxMax);
  }
  check();
  EXPECT_GT(checked, int64_t(70'000'000));
  EXPECT_EQ(bad, 0) << "of " << checked << " inputs";
}

TEST(ExpSoftmax, WithinTwoUlpOfExpfAndExactAtTheEdges) {
  int max_ulp = 0;
  for (float x = kExpSoftmaxMin; x <= kExpSoftmaxMax; x = std::nextafter(x, 100.0f) + 0.000713f * std::fabs(x)) {
    const float want = std::exp(x), got = exp_softmax(x);
    if (want < std::numeric_limits<float>::min()) continue;  // subnormal results: ulp is absolute
    const int ulp = std::abs(static_cast<int>(bits(got)) - static_cast<int>(bits(want)));
    max_ulp = std::max(max_ulp, ulp);
  }
  EXPECT_LE(max_ulp, 2);
  EXPECT_EQ(exp_softmax(0.0f), 1.0f);
  EXPECT_EQ(exp_softmax(-0.0f), 1.0f);
  EXPECT_EQ(exp_softmax(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_softmax(-87.5f), 0.0f);
  EXPECT_TRUE(std::isinf(exp_softmax(89.0f)));
  EXPECT_TRUE(std::isnan(exp_softmax(std::numeric_limits<float>::quiet_NaN())));
}

TEST(ExpSoftmax, SoftmaxMatchesDoublePrecision) {
  test::Rng rng(11);
  for (int64_t n : {1, 5, 16, 17, 100, 4097}) {
    auto x = test::random_floats(rng, n, 12.0f);
    if (n > 3) x[2] = -std::numeric_limits<float>::infinity();  // a masked position
    // The reference takes the same float differences x - max (their rounding
    // is the input's, not the method's) and exponentiates in double.
    std::vector<double> want(static_cast<size_t>(n));
    float mx = -std::numeric_limits<float>::infinity();
    double sum = 0;
    for (float v : x) mx = std::max(mx, v);
    for (int64_t i = 0; i < n; ++i) sum += want[i] = std::exp(static_cast<double>(x[i] - mx));
    softmax_inplace(x.data(), n);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      total += x[i];
      ASSERT_NEAR(x[i], want[i] / sum, 1e-6 * want[i] / sum + 1e-30) << "n " << n << " i " << i;
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST_F(AvxOps, SiluMulMatchesScalar) {
  test::Rng rng(5);
  for (int64_t n : {1, 7, 8, 9, 100, 8192}) {
    auto g = test::random_floats(rng, n, 8.0f);
    const auto u = test::random_floats(rng, n);
    if (n > 4) g[1] = 200.0f, g[2] = -200.0f, g[3] = 0.0f;
    std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    silu_mul_ref(g.data(), u.data(), want.data(), n);
    silu_mul_avx2(g.data(), u.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(bits(got[i]), bits(want[i])) << "n " << n << " i " << i;
  }
}

TEST_F(AvxOps, SumOfSquaresLanesMatchScalar) {
  test::Rng rng(6);
  for (int64_t n : {0, 1, 7, 8, 9, 100, 2048, 8191}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = std::ldexp(rng.uniform(-1.0f, 1.0f), static_cast<int>(rng.below(121)) - 60);
    double want[8], got[8];
    sum_squares_lanes_ref(x.data(), n, want);
    sum_squares_lanes_avx2(x.data(), n, got);
    for (int k = 0; k < 8; ++k) ASSERT_EQ(want[k], got[k]) << "n " << n << " lane " << k;
  }
}

TEST(Ops, RmsNormMatchesLongDoubleReference) {
  test::Rng rng(7);
  for (int64_t n : {1, 9, 2048}) {
    const auto x = test::random_floats(rng, n, 3.0f);
    const auto w = test::random_floats(rng, n);
    std::vector<float> y(static_cast<size_t>(n));
    rms_norm(x.data(), w.data(), y.data(), n, 1e-5f);
    long double ss = 0;
    for (float v : x) ss += static_cast<long double>(v) * v;
    const long double scale = 1.0L / std::sqrt(ss / n + 1e-5L);
    for (int64_t i = 0; i < n; ++i) {
      const double want = static_cast<double>(x[i] * scale * w[i]);
      ASSERT_NEAR(y[i], want, 1e-6 * (std::fabs(want) + 1e-3)) << "n " << n << " i " << i;
    }
  }
}

TEST_F(AvxOps, F16StoreMatchesScalarConversion) {
  // Every 499th float bit pattern except NaNs: normals, subnormal results,
  // overflow to infinity and exact ties at every scale.
  std::vector<float> x;
  for (uint64_t b = 0; b <= 0xffffffffu; b += 499) {
    const float f = from_bits(static_cast<uint32_t>(b));
    if (!std::isnan(f)) x.push_back(f);
  }
  std::vector<uint16_t> got(x.size());
  f32_to_f16_avx2(x.data(), got.data(), static_cast<int64_t>(x.size()) - 3);  // odd length: scalar tail
  for (size_t i = 0; i + 3 < x.size(); ++i) ASSERT_EQ(got[i], fp32_to_fp16(x[i])) << "x = " << x[i];
}

}  // namespace
}  // namespace kestrel
