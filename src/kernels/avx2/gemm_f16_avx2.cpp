// AVX2/FMA/F16C tile kernel for packed f16 weights (f16x8: element k of the
// 8 rows side by side) against activation rows already rounded to f16 and
// stored as f32, plus that rounding.
//
// Lane r accumulates row r with FMA over the elements; products of two f16
// values are exact in f32, so the only difference from the scalar oracle
// (vec_dot_f16_f16_ref, which sums in double) is f32 summation, as for
// vec_dot_f16_f16_avx2. Each activation row keeps several independent sums
// when few rows are in flight so the FMA latency stays hidden.
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx2/simd_avx2.h"

namespace kestrel {
namespace {

using namespace avx2;

template <int N>
void f16x8_rows(int64_t n_in, const uint8_t* tile, const uint8_t* act, size_t stride, float* y, int64_t ldy,
                bool accumulate) {
  constexpr int S = N >= 8 ? 1 : (N >= 4 ? 2 : (N >= 2 ? 4 : 8));  // sums per row: >= 8 chains in flight
  const float* a[N];
  for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const float*>(act + n * stride);
  __m256 acc[N][S];
  for (int n = 0; n < N; ++n) {
    for (int s = 0; s < S; ++s) acc[n][s] = _mm256_setzero_ps();
  }
  int64_t k = 0;
  for (; k + S <= n_in; k += S) {
    for (int s = 0; s < S; ++s) {
      const __m256 w = _mm256_cvtph_ps(load_u128(tile + 16 * (k + s)));
      for (int n = 0; n < N; ++n) acc[n][s] = _mm256_fmadd_ps(w, _mm256_broadcast_ss(a[n] + k + s), acc[n][s]);
    }
  }
  for (; k < n_in; ++k) {
    const __m256 w = _mm256_cvtph_ps(load_u128(tile + 16 * k));
    for (int n = 0; n < N; ++n) acc[n][0] = _mm256_fmadd_ps(w, _mm256_broadcast_ss(a[n] + k), acc[n][0]);
  }
  for (int n = 0; n < N; ++n) {
    __m256 sum = acc[n][0];
    for (int s = 1; s < S; ++s) sum = _mm256_add_ps(sum, acc[n][s]);
    store_rows8(y + n * ldy, sum, accumulate);
  }
}

}  // namespace

void gemm_f16x8_avx2(int64_t n_in, const uint8_t* tile, const uint8_t* act, size_t act_stride, int64_t n_act,
                     float* y, int64_t ldy, bool accumulate) {
  for_act_groups<8>(n_act, [&](auto n, int64_t t) {
    f16x8_rows<decltype(n)::value>(n_in, tile, act + t * act_stride, act_stride, y + t * ldy, ldy, accumulate);
  });
}

void prepare_f16_rounded_avx2(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<float*>(dst);
  int64_t i = 0;
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRound)));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(_cvtss_sh(x[i], kRound));
}

}  // namespace kestrel
