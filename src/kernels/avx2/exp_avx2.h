// expf for 8 floats, bit-identical to glibc's expf on x86-64 CPUs with FMA.
//
// The scalar reference paths (softmax, SiLU) call std::exp, i.e. glibc's
// expf, which on an FMA machine is __expf_fma: the ARM optimized-routines
// algorithm evaluated in double with GCC's FMA contractions. This reproduces
// those exact double operations (same table, same constants, same fused
// steps, one final rounding to float) 4 lanes at a time, plus its special
// cases, so vectorizing softmax and SiLU changes no bit of the results. The
// constants were read from glibc's __exp2f_data; test_exp_avx2 checks the
// function against std::exp over the whole float range.
//
// Include only from translation units under src/kernels/avx2/.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/exp_softmax_constants.h"

namespace kestrel::avx2 {

// 2^(i/32) as double bits minus i << 47 (glibc's __exp2f_data.tab).
alignas(64) inline constexpr uint64_t kExp2Tab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

inline __m256d exp_pd_bits(uint64_t bits) { return _mm256_castsi256_pd(_mm256_set1_epi64x(static_cast<int64_t>(bits))); }

// The main path for 4 lanes: x * 32/ln2 = k + r, exp(x) = 2^(k/32) * p(r).
inline __m128 exp4_core(__m128 x) {
  const __m256d inv_ln2_n = exp_pd_bits(0x40471547652b82fe);
  const __m256d shift = exp_pd_bits(0x4338000000000000);  // 0x1.8p52
  const __m256d c0 = exp_pd_bits(0x3ebc6af84b912394);
  const __m256d c1 = exp_pd_bits(0x3f2ebfce50fac4f3);
  const __m256d c2 = exp_pd_bits(0x3f962e42ff0c52d6);
  const __m256d xd = _mm256_cvtps_pd(x);
  const __m256d kd_shifted = _mm256_fmadd_pd(inv_ln2_n, xd, shift);
  const __m256i ki = _mm256_castpd_si256(kd_shifted);
  const __m256d kd = _mm256_sub_pd(kd_shifted, shift);
  const __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
  const __m256i tab = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(kExp2Tab),
                                             _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
  const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(tab, _mm256_slli_epi64(ki, 47)));
  const __m256d z = _mm256_fmadd_pd(r, c0, c1);
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(r, c2, _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(z, r2, y);
  return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

// expf(x) for 8 lanes, glibc's results including the edge cases:
// x > 0x1.62e42ep6 -> inf, x < -0x1.9fe368p6 -> 0, x < -0x1.9d1d9ep6 ->
// 0x1p-149 (glibc's "may underflow" value), NaN -> NaN.
inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_castps128_ps256(exp4_core(_mm256_castps256_ps128(x)));
  __m256 y = _mm256_insertf128_ps(lo, exp4_core(_mm256_extractf128_ps(x, 1)), 1);
  auto from_bits = [](uint32_t b) { return _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(b))); };
  const __m256 over = _mm256_cmp_ps(x, from_bits(0x42b17217), _CMP_GT_OQ);
  const __m256 may_under = _mm256_cmp_ps(x, from_bits(0xc2ce8ecf), _CMP_LT_OQ);
  const __m256 under = _mm256_cmp_ps(x, from_bits(0xc2cff1b4), _CMP_LT_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  y = _mm256_blendv_ps(y, from_bits(0x7f800000), over);
  y = _mm256_blendv_ps(y, from_bits(0x00000001), may_under);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
  return _mm256_blendv_ps(y, _mm256_add_ps(x, x), nan);
}

// exp_softmax (kernels/ops.h) for 8 lanes: the same float operations in the
// same order, so the same bits: round to nearest even is the scalar
// nearbyint, each FMA is one std::fma, 2^n is built in the exponent field.
inline __m256 exp8_softmax(__m256 x) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kExpLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kExpLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kExpLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < kExpPolyTerms; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(kExpSoftmaxMin), _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, _mm256_set1_ps(kExpSoftmaxMax), _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// exp8_softmax for lanes known to lie in [kExpSoftmaxMin, kExpSoftmaxMax]
// (no NaN): the same bits without the edge-case blends. Rounding by adding
// and subtracting 1.5 * 2^23 is nearbyint for |t| < 2^22, and the sum's
// low mantissa bits are n itself, so 2^n needs no float-to-int conversion.
inline __m256 exp8_softmax_in_range(__m256 x) {
  const __m256 magic = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23
  const __m256 shifted = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(kExpLog2e)), magic);
  const __m256 n = _mm256_sub_ps(shifted, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kExpLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kExpLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpPoly[0]);
  for (int i = 1; i < kExpPolyTerms; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(127 - 0x4B400000)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// All-ones in the lanes of x that lie in [kExpSoftmaxMin, kExpSoftmaxMax],
// where exp8_softmax_in_range applies (ordered compares: NaN lanes fail).
inline __m256 exp_softmax_in_range_mask(__m256 x) {
  return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(kExpSoftmaxMin), _CMP_GE_OQ),
                       _mm256_cmp_ps(x, _mm256_set1_ps(kExpSoftmaxMax), _CMP_LE_OQ));
}

}  // namespace kestrel::avx2
