// Inline helpers of the AVX-512 kernels (compiled with the avx512 flags:
// F/BW/VL/DQ + VNNI). Include ONLY from translation units under
// src/kernels/avx512/; everything lives in kestrel::avx512 so no
// AVX-512-compiled copy of an inline function can stand in for another
// level's (one definition per ISA namespace).
#pragma once

#include <immintrin.h>

#include "kernels/tile_loops.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace kestrel::avx512 {

inline __m128i load_u128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load_u256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One 512-bit vector from two tiles' 32-byte vectors at the same offset:
// lanes 0-7 (as int32) belong to tile a's 8 rows, lanes 8-15 to tile b's.
inline __m512i load_pair256(const uint8_t* a, const uint8_t* b) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(load_u256(a)), load_u256(b), 1);
}
inline __m256i load_pair128(const uint8_t* a, const uint8_t* b) {
  return _mm256_inserti128_si256(_mm256_zextsi128_si256(load_u128(a)), load_u128(b), 1);
}

// The 4 bytes at p (any alignment) in every 32-bit lane.
inline __m512i bcast_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

// The 16 fp16 scales of a tile pair (8 at a, 8 at b) as floats (exact).
inline __m512 scales_pair(const uint8_t* a, const uint8_t* b) { return _mm512_cvtph_ps(load_pair128(a, b)); }

// Prefetches, kAhead bytes on, the Bytes a block of one tile spans (see
// kernels/avx2/simd_avx2.h, prefetch_stream: why the kernels prefetch).
constexpr size_t kPrefetchAhead = 4096;
template <size_t Bytes>
inline void prefetch_stream(const uint8_t* p) {
#pragma GCC unroll 32
  for (size_t o = 0; o < Bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + o), _MM_HINT_T1);
}

// Writes the 16 row results of one activation row (y + result when
// accumulating: the oracle's order for a fused residual).
inline void store_rows16(float* y, __m512 v, bool accumulate) {
  if (accumulate) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
  _mm512_storeu_ps(y, v);
}

// The shared loops (kernels/tile_loops.h).
using tile_loops::for_act_groups;
using tile_loops::for_tile_pairs;
using tile_loops::gemm_tile_pairs;
using tile_loops::steps;

}  // namespace kestrel::avx512
