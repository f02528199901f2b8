// AVX2 element-wise ops, bit-identical to their scalar versions in
// kernels/ops.cpp: the same IEEE float operations per element in the same
// order, with glibc's expf reproduced exactly by exp8 and exp_softmax by
// exp8_softmax (exp_avx2.h).
#include "kernels/avx2/exp_avx2.h"
#include "kernels/avx2/gemm_avx2.h"

namespace kestrel {

using namespace avx2;

namespace {

// y[i] = F(x[i]) 8 lanes at a time; the tail goes through a padded buffer.
template <__m256 (*F)(__m256)>
void map8(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float buf[8] = {};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
    _mm256_store_ps(buf, F(_mm256_load_ps(buf)));
    for (int64_t j = i; j < n; ++j) y[j] = buf[j - i];
  }
}

// As attention's softmax runs it: the short form where all 8 lanes allow it.
__m256 exp8_softmax_either(__m256 x) {
  return _mm256_movemask_ps(exp_softmax_in_range_mask(x)) == 0xFF ? exp8_softmax_in_range(x) : exp8_softmax(x);
}

}  // namespace

void exp_f32_avx2(const float* x, float* y, int64_t n) { map8<exp8>(x, y, n); }

void exp_softmax_avx2(const float* x, float* y, int64_t n) { map8<exp8_softmax_either>(x, y, n); }

// y = gate / (1 + exp(-gate)) * up, as silu_mul in kernels/ops.cpp.
void silu_mul_avx2(const float* gate, const float* up, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp8(_mm256_xor_ps(g, sign));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    alignas(32) float g[8] = {}, u[8] = {};
    for (int64_t j = i; j < n; ++j) g[j - i] = gate[j], u[j - i] = up[j];
    const __m256 gv = _mm256_load_ps(g);
    const __m256 e = exp8(_mm256_xor_ps(gv, sign));
    _mm256_store_ps(g, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_load_ps(u)));
    for (int64_t j = i; j < n; ++j) y[j] = g[j - i];
  }
}

// lanes[k] = sum over i = k mod 8 of (double)(x[i] * x[i]), in increasing i:
// two vectors of 4 double lanes, one add each per 8 elements.
void sum_squares_lanes_avx2(const float* x, int64_t n, double lanes[8]) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sq = _mm256_mul_ps(v, v);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
  }
  _mm256_storeu_pd(lanes, lo);
  _mm256_storeu_pd(lanes + 4, hi);
  for (; i < n; ++i) lanes[i % 8] += static_cast<double>(x[i] * x[i]);
}

void f32_to_f16_avx2(const float* x, uint16_t* dst, int64_t n) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRound));
  }
  for (; i < n; ++i) dst[i] = _cvtss_sh(x[i], kRound);
}

}  // namespace kestrel
