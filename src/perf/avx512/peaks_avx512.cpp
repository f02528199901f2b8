// Compute-bound AVX-512 loops whose throughput defines the f32 and int8
// peaks at the avx512 ISA level, and a 512-bit streaming read: the limits
// of the instructions the avx512 kernels use (vfmadd on 16 lanes,
// vpdpbusd: 64 u8 x s8 products summed 4 at a time into int32).
#include <immintrin.h>

#include "perf/hardware_peaks.h"

namespace kestrel {

double f32_fma_loop_avx512(int64_t iters) {
  // 12 chains: two FMA pipes times a 4-5 cycle latency, with margin.
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];  // stored, not _mm512_reduce_*: GCC 12 warns inside those
  _mm512_store_ps(lanes, s);
  volatile float sink = lanes[0] + lanes[15];
  (void)sink;
  return static_cast<double>(iters) * 12 * 16 * 2;  // 16 lanes, 2 flops per FMA
}

double int8_dot_loop_avx512(int64_t iters) {
  // vpdpbusd accumulates in place, so each chain carries its latency: 8
  // chains in named variables; the empty asm keeps the inputs opaque so
  // nothing is hoisted or merged (see int8_dot_loop_avx2).
  const __m512i s8 = _mm512_set1_epi8(-2);
  __m512i u0 = _mm512_set1_epi8(3), u1 = _mm512_set1_epi8(4), u2 = _mm512_set1_epi8(5), u3 = _mm512_set1_epi8(6);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile("" : "+v"(u0), "+v"(u1), "+v"(u2), "+v"(u3));
    a0 = _mm512_dpbusd_epi32(a0, u0, s8);
    a1 = _mm512_dpbusd_epi32(a1, u1, s8);
    a2 = _mm512_dpbusd_epi32(a2, u2, s8);
    a3 = _mm512_dpbusd_epi32(a3, u3, s8);
    a4 = _mm512_dpbusd_epi32(a4, u0, s8);
    a5 = _mm512_dpbusd_epi32(a5, u1, s8);
    a6 = _mm512_dpbusd_epi32(a6, u2, s8);
    a7 = _mm512_dpbusd_epi32(a7, u3, s8);
  }
  const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                     _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  volatile int sink = lanes[0] + lanes[15];
  (void)sink;
  return static_cast<double>(iters) * 8 * 64 * 2;  // 64 multiply-adds per vpdpbusd, 2 ops each
}

uint64_t stream_read_avx512(const void* data, size_t bytes, bool prefetch) {
  // As stream_read_avx2 with 512-bit loads (a multiple of 64 bytes,
  // 64-byte aligned): one load per 64-byte line.
  constexpr size_t kAhead = 4096 / sizeof(__m512i);
  const auto* p = static_cast<const __m512i*>(data);
  const size_t n = bytes / sizeof(__m512i);
  __m512i acc[4];
  for (int i = 0; i < 4; ++i) acc[i] = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    if (prefetch) {
      for (int k = 0; k < 4; ++k) _mm_prefetch(reinterpret_cast<const char*>(p + i + kAhead + k), _MM_HINT_T1);
    }
    for (int k = 0; k < 4; ++k) acc[k] = _mm512_add_epi64(acc[k], _mm512_load_si512(p + i + k));
  }
  for (; i < n; ++i) acc[0] = _mm512_add_epi64(acc[0], _mm512_load_si512(p + i));
  const __m512i s = _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3]));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, s);
  uint64_t sum = 0;
  for (uint64_t v : lanes) sum += v;
  return sum;
}

}  // namespace kestrel
