// AVX2/FMA dot products for plain floating-point rows: F16 x F16, BF16 x
// BF16 and F32 x F32.
//
// All three share one loop shape: 32 elements per step into four independent
// FMA accumulators (to hide FMA latency), then 8 at a time, then a scalar
// tail, since these types have block size 1 and n may be any length. Only the
// "load 8 elements as floats" step differs: F16C conversion for F16, a 16-bit
// shift for BF16 (bf16 is the top half of an f32), a plain load for F32.
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/vec_dot_avx2.h"

namespace kestrel {
namespace {

using namespace avx2;

struct LoadF16 {
  using T = uint16_t;
  static __m256 load8(const T* p) { return _mm256_cvtph_ps(load_u128(p)); }
  static float load1(const T* p) { return half_to_float(*p); }
};

struct LoadBF16 {
  using T = uint16_t;
  static __m256 load8(const T* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load_u128(p)), 16));
  }
  static float load1(const T* p) {
    const uint32_t bits = static_cast<uint32_t>(*p) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
};

struct LoadF32 {
  using T = float;
  static __m256 load8(const T* p) { return _mm256_loadu_ps(p); }
  static float load1(const T* p) { return *p; }
};

template <typename L>
float dot_float_rows(int n, const void* w, const void* a) {
  const auto* x = static_cast<const typename L::T*>(w);
  const auto* y = static_cast<const typename L::T*>(a);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_fmadd_ps(L::load8(x + i + 8 * k), L::load8(y + i + 8 * k), acc[k]);
    }
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(L::load8(x + i), L::load8(y + i), acc[0]);
  float sum = hsum_f32(add4(acc));
  for (; i < n; ++i) sum += L::load1(x + i) * L::load1(y + i);
  return sum;
}

}  // namespace

float vec_dot_f16_f16_avx2(int n, const void* w, const void* a) {
  return dot_float_rows<LoadF16>(n, w, a);
}

float vec_dot_bf16_bf16_avx2(int n, const void* w, const void* a) {
  return dot_float_rows<LoadBF16>(n, w, a);
}

float vec_dot_f32_f32_avx2(int n, const void* w, const void* a) {
  return dot_float_rows<LoadF32>(n, w, a);
}

}  // namespace kestrel
