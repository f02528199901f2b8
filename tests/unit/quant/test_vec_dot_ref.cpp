// The scalar dot-product oracles against the definition: vec_dot(w, a) must
// equal sum_i dequant(w)_i * dequant(a)_i, where a is the activation row
// quantized to the type's vec_dot_type.
#include <gtest/gtest.h>

#include <cmath>

#include "core/half.h"
#include "kernels/ref/vec_dot_ref.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"
#include "quant_test_util.h"

namespace kestrel {
namespace {

using test::dequantize;
using test::gaussian;
using test::quantize;

struct DotCase {
  double expected;   // sum of dequantized products, in double
  double magnitude;  // sum of |products|: the scale of rounding error
  float got;
};

DotCase run_dot(const TypeTraits& tt, int n, uint32_t seed) {
  const TypeTraits& at = type_traits(tt.vec_dot_type);
  const std::vector<float> w = gaussian(static_cast<size_t>(n), seed);
  const std::vector<float> a = gaussian(static_cast<size_t>(n), seed + 1, 3.f);
  const std::vector<uint8_t> wq = quantize(tt, w), aq = quantize(at, a);
  const std::vector<float> wd = dequantize(tt, wq, w.size()), ad = dequantize(at, aq, a.size());
  DotCase c{0, 0, tt.vec_dot_ref(n, wq.data(), aq.data())};
  for (int i = 0; i < n; ++i) {
    c.expected += static_cast<double>(wd[i]) * ad[i];
    c.magnitude += std::fabs(static_cast<double>(wd[i]) * ad[i]);
  }
  return c;
}

// Q8_1's s field is fp16(d_f32 * sum q), not d_fp16 * sum q: the Q4_1/Q5_1
// oracles therefore differ from the dequantized dot by up to ~2^-10 of the
// offset term sum(m * s), exactly as ggml's kernels do.
double q8_1_offset_magnitude(const TypeTraits& tt, int n, uint32_t seed) {
  const std::vector<float> w = gaussian(static_cast<size_t>(n), seed);
  const std::vector<float> a = gaussian(static_cast<size_t>(n), seed + 1, 3.f);
  const std::vector<uint8_t> wq = quantize(tt, w), aq = quantize(type_traits(DType::Q8_1), a);
  const auto* ab = reinterpret_cast<const BlockQ8_1*>(aq.data());
  double mag = 0;
  for (int i = 0; i < n / 32; ++i) {
    // Both Q4_1 and Q5_1 start with d, m (fp16).
    uint16_t m;
    std::memcpy(&m, wq.data() + static_cast<size_t>(i) * tt.block_bytes + 2, 2);
    mag += std::fabs(fp16_to_fp32(m) * fp16_to_fp32(ab[i].s));
  }
  return mag;
}

TEST(VecDotRef, EqualsTheDotOfDequantizedRows) {
  const int n = 256 * 8;
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.vec_dot_ref) continue;
    for (uint32_t seed : {11u, 22u, 33u}) {
      const DotCase c = run_dot(tt, n, seed);
      double tol = 2e-6 * c.magnitude;
      if (tt.vec_dot_type == DType::Q8_1) tol += 2e-3 * q8_1_offset_magnitude(tt, n, seed);
      EXPECT_NEAR(c.got, c.expected, tol) << tt.name << " seed " << seed;
    }
  }
}

TEST(VecDotRef, IsCloseToTheExactDot) {
  // Against the unquantized f32 dot the error is a sum of n independent
  // per-element errors, so it is about (e_w + e_a) * sqrt(sum (w*a)^2) for
  // relative rms errors e_w, e_a of the two rows; allow 4 of those sigmas.
  const int n = 4096;
  const std::vector<float> w = gaussian(n, 5), a = gaussian(n, 6);
  double exact = 0, norm = 0;
  for (int i = 0; i < n; ++i) {
    exact += static_cast<double>(w[i]) * a[i];
    norm += static_cast<double>(w[i]) * a[i] * w[i] * a[i];
  }
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.vec_dot_ref) continue;
    const TypeTraits& at = type_traits(tt.vec_dot_type);
    const std::vector<uint8_t> wq = quantize(tt, w), aq = quantize(at, a);
    const double e_w = test::relative_rms_error(w, dequantize(tt, wq, w.size()));
    const double e_a = test::relative_rms_error(a, dequantize(at, aq, a.size()));
    const float got = tt.vec_dot_ref(n, wq.data(), aq.data());
    EXPECT_NEAR(got, exact, 4 * (e_w + e_a) * std::sqrt(norm) + 1e-4) << tt.name;
  }
}

TEST(VecDotRef, KnownSmallCases) {
  // Q8_0 x Q8_0 with d = 1 on both: the plain integer dot.
  BlockQ8_0 x, y;
  x.d = y.d = 0x3C00;
  int expected = 0;
  for (int j = 0; j < 32; ++j) {
    x.qs[j] = static_cast<int8_t>(j - 16);
    y.qs[j] = static_cast<int8_t>(3 - j % 7);
    expected += (j - 16) * (3 - j % 7);
  }
  EXPECT_EQ(vec_dot_q8_0_q8_0_ref(32, &x, &y), static_cast<float>(expected));

  // Q4_1 x Q8_1: w = 0.5*q + 2 with q = 1 everywhere (w = 2.5); a = 1 * 2 everywhere,
  // s = 64 -> dot = 0.5*1*sum(q*qa) + 2*64 = 0.5*64 + 128 = 160 = 32 * 2.5 * 2.
  BlockQ4_1 w1;
  w1.d = 0x3800;
  w1.m = 0x4000;
  std::memset(w1.qs, 0x11, 16);
  BlockQ8_1 a1;
  a1.d = 0x3C00;
  a1.s = 0x5400;  // 64
  std::memset(a1.qs, 2, 32);
  EXPECT_EQ(vec_dot_q4_1_q8_1_ref(32, &w1, &a1), 160.0f);

  // f16 / bf16 / f32 on tiny rows.
  const uint16_t h1[2] = {0x3C00, 0x4000}, h2[2] = {0x4200, 0xBC00};  // [1,2].[3,-1] = 1
  EXPECT_EQ(vec_dot_f16_f16_ref(2, h1, h2), 1.0f);
  const uint16_t b1[2] = {0x3F80, 0x4000}, b2[2] = {0x4040, 0xBF80};
  EXPECT_EQ(vec_dot_bf16_bf16_ref(2, b1, b2), 1.0f);
  const float f1[3] = {1.f, 2.f, 3.f}, f2[3] = {4.f, -5.f, 6.f};
  EXPECT_EQ(vec_dot_f32_f32_ref(3, f1, f2), 12.0f);
}

TEST(VecDotRef, KQuantMinsUseTheActivationBlockSums) {
  // A Q4_K block with all levels 0 decodes to -dmin*m per sub-block; its dot
  // with any activation is -dmin * d_a * sum(m_s * bsum_s), which only the
  // bsums carry. Corrupting bsums must change the result accordingly.
  BlockQ4_K w;
  std::memset(&w, 0, sizeof w);
  w.d = 0x3C00;
  w.dmin = 0x3C00;
  w.scales[4] = 1;  // sub-block 0: min 1
  const std::vector<float> a = gaussian(256, 3);
  BlockQ8_K q;
  type_traits(DType::Q8_K).from_float(a.data(), &q, 256);
  const float expected = -q.d * static_cast<float>(q.bsums[0] + q.bsums[1]);
  EXPECT_FLOAT_EQ(vec_dot_q4_K_q8_K_ref(256, &w, &q), expected);
  q.bsums[0] = static_cast<int16_t>(q.bsums[0] + 10);
  EXPECT_FLOAT_EQ(vec_dot_q4_K_q8_K_ref(256, &w, &q), expected - 10 * q.d);
}

}  // namespace
}  // namespace kestrel
