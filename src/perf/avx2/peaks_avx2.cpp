// Compute-bound AVX2 loops whose throughput defines the f32 and int8 peaks.
//
// Each keeps enough independent accumulators (10 for FMA, 8 for the int8
// chain) to cover the instruction latencies of current x86 cores, so the
// loop runs at the ports' throughput limit rather than a dependency chain.
#include <immintrin.h>

#include "perf/hardware_peaks.h"

namespace kestrel {

double f32_fma_loop_avx2(int64_t iters) {
  __m256 acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return static_cast<double>(iters) * 10 * 8 * 2;  // 8 lanes, 2 flops per FMA
}

double int8_dot_loop_avx2(int64_t iters) {
  __m256i acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_si256();
  __m256i u = _mm256_set1_epi8(3);
  const __m256i s8 = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t it = 0; it < iters; ++it) {
    // An empty asm that "modifies" u stops the compiler hoisting the
    // loop-invariant maddubs out of the loop.
    __asm__ volatile("" : "+x"(u));
    for (int i = 0; i < 8; ++i) {
      const __m256i p = _mm256_maddubs_epi16(u, s8);  // 32 u8*i8 products, pairwise summed
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(p, ones));
    }
  }
  __m256i s = acc[0];
  for (int i = 1; i < 8; ++i) s = _mm256_add_epi32(s, acc[i]);
  volatile int sink = _mm256_extract_epi32(s, 0);
  (void)sink;
  return static_cast<double>(iters) * 8 * 32 * 2;  // 32 multiply-adds per maddubs, 2 ops each
}

uint64_t stream_read_avx2(const void* data, size_t bytes) {
  // Eight independent 256-bit accumulators: the loop issues a load per
  // cycle or more, far above what DRAM delivers, so its speed is the
  // memory system's, not the core's.
  const auto* p = static_cast<const __m256i*>(data);
  const size_t n = bytes / sizeof(__m256i);
  __m256i acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_add_epi64(acc[k], _mm256_load_si256(p + i + k));
  }
  for (; i < n; ++i) acc[0] = _mm256_add_epi64(acc[0], _mm256_load_si256(p + i));
  __m256i s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm256_add_epi64(s, acc[k]);
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3));
}

}  // namespace kestrel
