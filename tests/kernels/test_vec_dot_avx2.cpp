// Differential tests: every vec_dot_*_avx2 kernel against its scalar oracle
// vec_dot_*_ref, on realistic quantized data and on random / extreme block
// bytes (all-max nibbles, zero quants, -128 activations, large scales), for
// one block, a few blocks (the 4-way unrolled tail), and model-sized rows.
//
// Both sides compute the same exact integer block sums, so the only allowed
// difference is float rounding of the scaling/accumulation: we require
// |avx2 - ref| <= 1e-5 * sum_i |w_i * a_i|. The oracle is also checked
// against a double-precision dot of the dequantized rows, which catches a
// layout misreading shared by both kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernel_test_util.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "kernels/ref/vec_dot_ref.h"

namespace kestrel {
namespace {

using test::Fill;
using test::Rng;

struct DotCase {
  const char* name;
  DType w;
  DType a;
  VecDotFn avx2;
  VecDotFn ref;
  std::vector<int> sizes;
};

const std::vector<int> kLegacySizes = {32, 96, 32 * 33, 4096, 14336};
const std::vector<int> kKSizes = {256, 768, 4096, 8192};
const std::vector<int> kFloatSizes = {1, 7, 31, 33, 100, 4096, 4099, 14336};

// gtest prints parameters in failure messages; the name is what matters.
void PrintTo(const DotCase& c, std::ostream* os) { *os << c.name; }

const DotCase kCases[] = {
    {"q4_0", DType::Q4_0, DType::Q8_0, vec_dot_q4_0_q8_0_avx2, vec_dot_q4_0_q8_0_ref, kLegacySizes},
    {"q4_1", DType::Q4_1, DType::Q8_1, vec_dot_q4_1_q8_1_avx2, vec_dot_q4_1_q8_1_ref, kLegacySizes},
    {"q5_0", DType::Q5_0, DType::Q8_0, vec_dot_q5_0_q8_0_avx2, vec_dot_q5_0_q8_0_ref, kLegacySizes},
    {"q5_1", DType::Q5_1, DType::Q8_1, vec_dot_q5_1_q8_1_avx2, vec_dot_q5_1_q8_1_ref, kLegacySizes},
    {"q8_0", DType::Q8_0, DType::Q8_0, vec_dot_q8_0_q8_0_avx2, vec_dot_q8_0_q8_0_ref, kLegacySizes},
    {"q2_K", DType::Q2_K, DType::Q8_K, vec_dot_q2_K_q8_K_avx2, vec_dot_q2_K_q8_K_ref, kKSizes},
    {"q3_K", DType::Q3_K, DType::Q8_K, vec_dot_q3_K_q8_K_avx2, vec_dot_q3_K_q8_K_ref, kKSizes},
    {"q4_K", DType::Q4_K, DType::Q8_K, vec_dot_q4_K_q8_K_avx2, vec_dot_q4_K_q8_K_ref, kKSizes},
    {"q5_K", DType::Q5_K, DType::Q8_K, vec_dot_q5_K_q8_K_avx2, vec_dot_q5_K_q8_K_ref, kKSizes},
    {"q6_K", DType::Q6_K, DType::Q8_K, vec_dot_q6_K_q8_K_avx2, vec_dot_q6_K_q8_K_ref, kKSizes},
    {"f16", DType::F16, DType::F16, vec_dot_f16_f16_avx2, vec_dot_f16_f16_ref, kFloatSizes},
    {"bf16", DType::BF16, DType::BF16, vec_dot_bf16_bf16_avx2, vec_dot_bf16_bf16_ref, kFloatSizes},
    {"f32", DType::F32, DType::F32, vec_dot_f32_f32_avx2, vec_dot_f32_f32_ref, kFloatSizes},
};

constexpr double kRelTol = 1e-5;

class VecDotAvx2 : public ::testing::TestWithParam<DotCase> {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  }

  // Compares avx2 with the oracle (and the oracle with the dequantized dot)
  // on one pair of rows.
  void expect_match(const std::vector<uint8_t>& w, const std::vector<uint8_t>& a, int n,
                    const std::string& what) {
    const DotCase& c = GetParam();
    const float got = c.avx2(n, w.data(), a.data());
    const float want = c.ref(n, w.data(), a.data());
    const double scale = test::abs_dot(c.w, w.data(), c.a, a.data(), n);
    ASSERT_TRUE(std::isfinite(want)) << what;
    EXPECT_LE(std::fabs(static_cast<double>(got) - want), kRelTol * scale)
        << what << " n=" << n << " avx2=" << got << " ref=" << want << " sum|wa|=" << scale;
    // Q8_1 activations carry s = fp16(d * sum q), which the kernels use for
    // the min term m * s; the plain dequantized dot lacks that fp16 rounding
    // (relative error <= 2^-11 of each |m * s|).
    const double tol_deq = kRelTol * scale + (c.a == DType::Q8_1 ? min_term_bound(w, a, n) : 0.0);
    const double deq = test::dequantized_dot(c.w, w.data(), c.a, a.data(), n);
    EXPECT_LE(std::fabs(deq - want), tol_deq)
        << what << " n=" << n << " oracle=" << want << " dequantized dot=" << deq;
  }

  // 2^-11 * sum_b |m_b * s_b| for Q4_1/Q5_1 x Q8_1 (both weight blocks start
  // with d, m; Q8_1 with d, s).
  double min_term_bound(const std::vector<uint8_t>& w, const std::vector<uint8_t>& a, int n) {
    const size_t wb = type_traits(GetParam().w).block_bytes;
    double bound = 0.0;
    for (int b = 0; b < n / QK8_1; ++b) {
      const auto* wm = reinterpret_cast<const BlockQ4_1*>(w.data() + b * wb);
      const auto* as = reinterpret_cast<const BlockQ8_1*>(a.data() + b * sizeof(BlockQ8_1));
      bound += std::fabs(static_cast<double>(fp16_to_fp32(wm->m)) * fp16_to_fp32(as->s));
    }
    return bound * std::ldexp(1.0, -11);
  }
};

TEST_P(VecDotAvx2, MatchesOracleOnQuantizedData) {
  const DotCase& c = GetParam();
  const TypeTraits& wt = type_traits(c.w);
  const TypeTraits& at = type_traits(c.a);
  Rng rng(1234);
  for (int n : c.sizes) {
    std::vector<float> wf = test::random_floats(rng, n);
    std::vector<float> af = test::random_floats(rng, n, 3.0f);
    // A few outliers, as real weights and activations have (on distinct
    // elements in practice: rows are long enough).
    for (int k = 0; k < (n >= 64 ? 4 : 0); ++k) {
      wf[static_cast<size_t>(rng.below(n))] *= 20.0f;
      af[static_cast<size_t>(rng.below(n))] *= 50.0f;
    }
    std::vector<uint8_t> w(row_bytes(wt, n)), a(row_bytes(at, n));
    wt.from_float(wf.data(), w.data(), n);
    at.from_float(af.data(), a.data(), n);
    expect_match(w, a, n, "quantized normal data");
  }
}

TEST_P(VecDotAvx2, MatchesOracleOnRandomAndExtremeBlocks) {
  const DotCase& c = GetParam();
  const bool quantized = type_traits(c.w).is_quantized;
  const std::vector<Fill> w_fills =
      quantized ? std::vector<Fill>{Fill::Random, Fill::AllMax, Fill::AllMin, Fill::Int8Min}
                : std::vector<Fill>{Fill::Random};
  const std::vector<Fill> a_fills = quantized
                                        ? std::vector<Fill>{Fill::Random, Fill::Int8Min, Fill::AllMax}
                                        : std::vector<Fill>{Fill::Random};
  Rng rng(99);
  for (int n : c.sizes) {
    for (Fill wf : w_fills) {
      for (Fill af : a_fills) {
        for (bool big : {false, true}) {
          const auto w = test::random_row(rng, c.w, n, wf, big);
          const auto a = test::random_row(rng, c.a, n, af, big);
          expect_match(w, a, n,
                       "fills w=" + std::to_string(static_cast<int>(wf)) +
                           " a=" + std::to_string(static_cast<int>(af)) + " big=" + std::to_string(big));
        }
      }
    }
  }
}

TEST_P(VecDotAvx2, ZeroActivationsGiveZero) {
  const DotCase& c = GetParam();
  Rng rng(7);
  const int n = c.sizes.back();
  const auto w = test::random_row(rng, c.w, n, Fill::Random, false);
  std::vector<float> zeros(static_cast<size_t>(n), 0.0f);
  std::vector<uint8_t> a(row_bytes(type_traits(c.a), n));
  type_traits(c.a).from_float(zeros.data(), a.data(), n);
  EXPECT_EQ(c.avx2(n, w.data(), a.data()), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VecDotAvx2, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<DotCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace kestrel
