// Small AVX2 building blocks shared by the vec_dot_*_avx2 kernels.
//
// Include this header ONLY from translation units under src/kernels/avx2/
// (they are compiled with -mavx2 -mfma -mf16c). Everything here is inline
// and lives in kestrel::avx2, so no AVX2-compiled copy of a shared inline
// function can be picked by the linker for baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/tile_loops.h"

namespace kestrel::avx2 {

// IEEE half (raw bits) to float with the F16C instruction; exact.
inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// Sum of the 8 floats of v.
inline float hsum_f32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Sum of the 8 int32 of v (wrapping; callers keep sums far below 2^31).
inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

inline __m128i load_u128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load_u256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 16 packed bytes of nibbles -> 32 bytes 0..15 in "nibble order": low
// nibbles become bytes 0..15, high nibbles bytes 16..31. (Broadcast load and
// a per-lane variable shift: no cross-lane shuffle needed.)
inline __m256i unpack_nibbles_32(const uint8_t* qs) {
  const __m256i b = _mm256_broadcastsi128_si256(load_u128(qs));
  const __m256i shifted = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
}

// 32 bits (little-endian in `bits`) -> 32 bytes, byte j = 0xFF if bit j is set.
inline __m256i expand_bits_32(const uint8_t* bits) {
  uint32_t w;
  std::memcpy(&w, bits, sizeof w);
  // Byte j of the result looks at byte j/8 of w, then tests bit j%8 there.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(w)),
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202,
                         0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Exact sum over pairs of u8 x i8 products: maddubs is exact as long as each
// pair sum fits in int16, which holds for unsigned operands <= 127 (2*127*128).
inline __m256i maddubs_pairs(__m256i u8, __m256i s8) { return _mm256_maddubs_epi16(u8, s8); }

// int16 lanes -> sums of adjacent pairs as int32 (exact).
inline __m256i sum_i16_pairs(__m256i v) { return _mm256_madd_epi16(v, _mm256_set1_epi16(1)); }

// Exact sum_j (u[j] - offset) * s[j] over 32 bytes, as 8 int32 partial sums.
// u in 0..(127-offset) so both maddubs stay inside int16.
inline __m256i dot_u8_i8_offset(__m256i u, __m256i s, int8_t offset) {
  const __m256i p = _mm256_maddubs_epi16(u, s);
  const __m256i o = _mm256_maddubs_epi16(_mm256_set1_epi8(offset), s);
  return sum_i16_pairs(_mm256_sub_epi16(p, o));
}

// Exact sum_j a[j] * b[j] over 32 signed bytes (any values, -128 included),
// as 8 int32 partial sums: widens to int16 so nothing can saturate.
inline __m256i dot_i8_i8(const int8_t* a, const int8_t* b) {
  const __m256i a0 = _mm256_cvtepi8_epi16(load_u128(a));
  const __m256i a1 = _mm256_cvtepi8_epi16(load_u128(a + 16));
  const __m256i b0 = _mm256_cvtepi8_epi16(load_u128(b));
  const __m256i b1 = _mm256_cvtepi8_epi16(load_u128(b + 16));
  return _mm256_add_epi32(_mm256_madd_epi16(a0, b0), _mm256_madd_epi16(a1, b1));
}

inline __m256 add4(const __m256 (&v)[4]) {
  return _mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3]));
}

// Reduces 8 vectors of 8 int32 partial sums (one vector per block) to one
// vector whose lane k is the total of block k.
inline __m256i reduce8_i32(const __m256i (&s)[8]) {
  // After two rounds of hadd, lane k of each 128-bit half holds half of
  // block k's (resp. k+4's) total; the final add joins the two halves.
  const __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
  const __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(s[4], s[5]), _mm256_hadd_epi32(s[6], s[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20),
                          _mm256_permute2x128_si256(h0, h1, 0x31));
}

// The fp16 fields of 8 consecutive blocks (`first` points at block 0's
// field, blocks are Stride bytes apart) as 8 floats. One gather of 32-bit
// words (each field plus the 2 bytes after it, which always belong to the
// same block) replaces 8 scalar loads and inserts.
template <size_t Stride>
inline __m256 load_halves8(const void* first) {
  constexpr int s = static_cast<int>(Stride);
  const __m256i offsets = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
  const __m256i words = _mm256_i32gather_epi32(static_cast<const int*>(first), offsets, 1);
  // Keep the low 16 bits of each word: bytes 0,1,4,5,8,9,12,13 of each lane
  // to the lane's low 8 bytes, then join the two lanes' low quadwords.
  const __m256i low16 = _mm256_shuffle_epi8(
      words, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4,
                              5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i joined = _mm256_permute4x64_epi64(low16, 0x08);
  return _mm256_cvtph_ps(_mm256_castsi256_si128(joined));
}

// --- K-quant helpers: 16 groups of 16 elements, one int16 scale per group ---

// `sc8` holds 8 int16 scales duplicated in both 128-bit lanes. Returns
// scale L broadcast over the low lane and scale H over the high lane. A
// maddubs over 32 consecutive elements leaves elements 0..15 in the low lane
// and 16..31 in the high lane, so <2k, 2k+1> scales 16-element groups and
// <j, j> scales a whole 32-element sub-block.
template <int L, int H>
inline __m256i pick_i16(__m256i sc8) {
  static_assert(L >= 0 && L < 8 && H >= 0 && H < 8);
  constexpr char l0 = 2 * L, l1 = 2 * L + 1, h0 = 2 * H, h1 = 2 * H + 1;
  const __m256i idx = _mm256_setr_epi8(l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0, l1, l0,
                                       l1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1, h0, h1,
                                       h0, h1);
  return _mm256_shuffle_epi8(sc8, idx);
}

// 8 int16 scales (as 8 int16 in a __m128i) duplicated into both lanes.
inline __m256i dup_lanes(__m128i v) { return _mm256_broadcastsi128_si256(v); }

// Sum over 4 chunks of 32 elements (one half super-block = 128 elements,
// 8 groups of 16): p[k] are the maddubs int16 pair-sums of chunk k, sc8 the
// 8 group scales as int16 duplicated in both lanes.
// Result: 8 int32 partial sums of sum_g scale[g] * dot(group g).
inline __m256i apply_group_scales_128(const __m256i p[4], __m256i sc8) {
  __m256i s = _mm256_madd_epi16(p[0], pick_i16<0, 1>(sc8));
  s = _mm256_add_epi32(s, _mm256_madd_epi16(p[1], pick_i16<2, 3>(sc8)));
  s = _mm256_add_epi32(s, _mm256_madd_epi16(p[2], pick_i16<4, 5>(sc8)));
  return _mm256_add_epi32(s, _mm256_madd_epi16(p[3], pick_i16<6, 7>(sc8)));
}

// sum_g coef[g] * bsums[g] over the 16 groups of a Q8_K block, as 8 int32
// (coef are 16 int16, bsums the block's 16 int16 group sums).
inline __m256i dot_bsums(__m256i coef16, const int16_t* bsums) {
  return _mm256_madd_epi16(coef16, load_u256(bsums));
}

// --- packed tile kernels (gemm_*_avx2.cpp) ---

// The 4 bytes at p (any alignment) in every 32-bit lane: one activation
// word for all 8 weight rows of a tile.
inline __m256i bcast_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

// Prefetches the weight bytes [p, p + Bytes) will be followed by, kAhead
// bytes further on, into L2: a decode step streams each matrix once, and
// the hardware prefetchers stop at every 4 KiB boundary, which one core
// alone cannot hide. A fixed, unrolled count per block (no loop branches);
// a line touched twice by neighbouring blocks costs one load-port slot.
constexpr size_t kPrefetchAhead = 4096;
template <size_t Bytes>
inline void prefetch_stream(const uint8_t* p) {
#pragma GCC unroll 32
  for (size_t o = 0; o < Bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + o), _MM_HINT_T1);
}

// Writes the 8 row results of one activation row (adds them to y first for
// a fused residual connection: y + result, the oracle's order).
inline void store_rows8(float* y, __m256 v, bool accumulate) {
  if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(y), v);
  _mm256_storeu_ps(y, v);
}

// steps(), for_act_groups(): kernels/tile_loops.h.
using tile_loops::dispatch_act_count;
using tile_loops::for_act_groups;
using tile_loops::steps;

// The loop of every 8-row tile GEMM: for each tile and each group of up to
// MaxN activation rows (then the rest), rows(integral_constant<N>, tile,
// first activation row, first output row).
template <int MaxN, typename Rows>
inline void for_tiles_and_act_groups(const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                                     size_t act_stride, int64_t n_act, float* y, int64_t ldy, Rows&& rows) {
  for (int64_t i = 0; i < n_tiles; ++i) {
    for_act_groups<MaxN>(n_act, [&](auto n, int64_t t) {
      rows(n, tiles + i * tile_bytes, act + t * act_stride, y + t * ldy + 8 * i);
    });
  }
}

}  // namespace kestrel::avx2
