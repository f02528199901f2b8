// Compute-bound AVX2 loops whose throughput defines the f32 and int8 peaks.
//
// Each keeps enough independent accumulators (10 for FMA, 4 for the int8
// one) to cover the instruction latencies of current x86 cores, so the
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
  // The int8 limit is the issue rate of vpmaddubsw (32 u8 x i8 products,
  // pairwise summed): each result is accumulated with vpaddw, as the tile
  // kernels do, which other ports absorb. (The kernels widen with vpmaddwd
  // once per block, so they approach this rate but cannot pass it; a probe
  // that pays a vpmaddwd per vpmaddubsw measures half of it, which the Q4_0
  // kernel then "beats".) 4 chains in named variables (6 measure the same;
  // arrays tied to the asm below end up in memory); the loop-carried
  // dependency is the 1-cycle add only.
  const __m256i s8 = _mm256_set1_epi8(-2);
  __m256i u0 = _mm256_set1_epi8(3), u1 = _mm256_set1_epi8(4), u2 = _mm256_set1_epi8(5), u3 = _mm256_set1_epi8(6);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t it = 0; it < iters; ++it) {
    // An empty asm that "modifies" every input stops the compiler from
    // hoisting the loop-invariant products out of the loop or merging the
    // chains. (Before 2026-11-21 one shared input let it compute a single
    // vpmaddubsw + vpmaddwd per iteration; the loop then timed 8 adds.)
    __asm__ volatile("" : "+x"(u0), "+x"(u1), "+x"(u2), "+x"(u3));
    a0 = _mm256_add_epi16(a0, _mm256_maddubs_epi16(u0, s8));  // int16 wrap-around is harmless here
    a1 = _mm256_add_epi16(a1, _mm256_maddubs_epi16(u1, s8));
    a2 = _mm256_add_epi16(a2, _mm256_maddubs_epi16(u2, s8));
    a3 = _mm256_add_epi16(a3, _mm256_maddubs_epi16(u3, s8));
  }
  const __m256i s = _mm256_add_epi16(_mm256_add_epi16(a0, a1), _mm256_add_epi16(a2, a3));
  volatile int sink = _mm256_extract_epi32(s, 0);
  (void)sink;
  return static_cast<double>(iters) * 4 * 32 * 2;  // 32 multiply-adds per maddubs, 2 ops each
}

uint64_t stream_read_avx2(const void* data, size_t bytes, bool prefetch) {
  // Eight independent 256-bit accumulators: the loop issues a load per
  // cycle or more, far above what DRAM delivers, so its speed is the
  // memory system's, not the core's. With `prefetch`, each 256-byte step
  // also asks for the lines 4 KiB ahead into L2, which keeps more requests
  // in flight than the hardware prefetchers alone (they stop at 4 KiB
  // page boundaries): on the 2-core dev VM 32.7 vs 29.0 GB/s.
  constexpr size_t kAhead = 4096 / sizeof(__m256i);
  const auto* p = static_cast<const __m256i*>(data);
  const size_t n = bytes / sizeof(__m256i);
  __m256i acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (prefetch) {
      for (int k = 0; k < 8; k += 2) _mm_prefetch(reinterpret_cast<const char*>(p + i + kAhead + k), _MM_HINT_T1);
    }
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_add_epi64(acc[k], _mm256_load_si256(p + i + k));
  }
  for (; i < n; ++i) acc[0] = _mm256_add_epi64(acc[0], _mm256_load_si256(p + i));
  __m256i s = acc[0];
  for (int k = 1; k < 8; ++k) s = _mm256_add_epi64(s, acc[k]);
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) + _mm256_extract_epi64(s, 2) +
                               _mm256_extract_epi64(s, 3));  // the whole sum, so a test can check every byte was read
}

}  // namespace kestrel
