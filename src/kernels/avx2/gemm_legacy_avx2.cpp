// AVX2 tile kernels for the packed legacy formats q4_0x8, q4_1x8, q5_0x8,
// q5_1x8 and q8_0x8 (layouts in kernels/packed.cpp) against ActQ8_0Sum,
// ActQ8_1F and ActQ8_0Wide rows.
//
// Lane r of every vector belongs to weight row r, so a block's 8 integer dot
// products come out as one vector without any horizontal reduction, and the
// float step per block, acc += (d_w * d_a) * (float)isum, is the oracle's
// (kernels/ref/vec_dot_ref.h) with 8 rows side by side: the results are
// bit-identical to vec_dot_q4_0_q8_0_ref / vec_dot_q8_0_q8_0_ref.
//
// q4_0x8: the unsigned nibbles (0..15) go through maddubs against the signed
// activations; the 8 maddubs of a block are summed in int16, which is exact
// (|sum| <= 8 * 2 * 15 * 128 = 30720 < 32768 for any int8 activation), then
// widened once with madd. The -8 offset is folded as -8 * sum(a), carried
// ready-made by the activation block.
// q4_1x8, q5_0x8, q5_1x8: the same exact integer sums over unsigned values
// (nibbles as in q4_0x8; 5-bit values as two int16 sums of 4 maddubs);
// Q5_0's -16 offset is -2 * sum8, and Q4_1/Q5_1 add the oracle's second
// float step, acc += m * s.
// q8_0x8: both operands are signed, where maddubs has no exact form, so the
// weights are sign-extended to int16 (2 columns x 8 rows per vector) and
// multiplied with madd against a broadcast pair of int16 activations.
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/tile_levels_avx2.h"
#include "kernels/packed.h"

namespace kestrel {
namespace {

using namespace avx2;

constexpr size_t kQ4_0TileBlock = 8 * 18;  // d[8] + 128 bytes of nibbles
constexpr size_t kQ8_0TileBlock = 8 * 34;  // d[8] + 256 bytes of int8

template <int N>
void q4_0x8_rows(int64_t nb, const uint8_t* tile, const uint8_t* act, size_t stride, float* y, int64_t ldy,
                 bool accumulate) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = tile + b * kQ4_0TileBlock;
    prefetch_stream<kQ4_0TileBlock>(blk);
    const ActQ8_0Sum* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const ActQ8_0Sum*>(act + n * stride) + b;
    __m256i s16[N];
    for (int n = 0; n < N; ++n) s16[n] = _mm256_setzero_si256();
    auto chunk = [&](int c) {
      const __m256i q = load_u256(blk + 16 + 32 * c);
      const __m256i lo = _mm256_and_si256(q, m4);                        // elements 4c..4c+3
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);  // elements 16+4c..
      for (int n = 0; n < N; ++n) {
        s16[n] = _mm256_add_epi16(s16[n], _mm256_maddubs_epi16(lo, bcast_i32(a[n]->qs + 4 * c)));
        s16[n] = _mm256_add_epi16(s16[n], _mm256_maddubs_epi16(hi, bcast_i32(a[n]->qs + 16 + 4 * c)));
      }
    };
    steps<4, N <= 2 ? 4 : 1>(chunk);
    const __m256 dw = _mm256_cvtph_ps(load_u128(blk));
    for (int n = 0; n < N; ++n) {
      const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16[n], ones), _mm256_set1_epi32(a[n]->sum8));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(a[n]->d));
      acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum)));
    }
  }
  for (int n = 0; n < N; ++n) store_rows8(y + n * ldy, acc[n], accumulate);
}

template <int N>
void q8_0x8_rows(int64_t nb, const uint8_t* tile, const uint8_t* act, size_t stride, float* y, int64_t ldy,
                 bool accumulate) {
  // The float sums wait in memory (one load and store per block and row):
  // with 6 rows, keeping them in registers next to the 6 integer sums made
  // the compiler spill inside the 16-step loop.
  alignas(32) float acc[N][8] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = tile + b * kQ8_0TileBlock;
    prefetch_stream<kQ8_0TileBlock>(blk);
    const ActQ8_0Wide* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const ActQ8_0Wide*>(act + n * stride) + b;
    __m256i s32[N];
    for (int n = 0; n < N; ++n) s32[n] = _mm256_setzero_si256();
    auto step = [&](int g) {
      const __m256i w = _mm256_cvtepi8_epi16(load_u128(blk + 16 + 16 * g));  // columns 2g, 2g+1
      for (int n = 0; n < N; ++n) {
        s32[n] = _mm256_add_epi32(s32[n], _mm256_madd_epi16(w, bcast_i32(a[n]->qs + 2 * g)));
      }
    };
    steps<16, N <= 2 ? 16 : 2>(step);
    const __m256 dw = _mm256_cvtph_ps(load_u128(blk));
    for (int n = 0; n < N; ++n) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(a[n]->d));
      _mm256_store_ps(acc[n], _mm256_add_ps(_mm256_load_ps(acc[n]), _mm256_mul_ps(d, _mm256_cvtepi32_ps(s32[n]))));
    }
  }
  for (int n = 0; n < N; ++n) store_rows8(y + n * ldy, _mm256_load_ps(acc[n]), accumulate);
}

// The q4_1x8 / q5_0x8 / q5_1x8 variations: block bytes, where the values
// start, how they are dotted, and whether the block has a min (Q8_1
// activations) or an offset folded through sum8 (Q8_0 activations).
struct Q4_1x8 {
  static constexpr size_t kTileBlock = 8 * 20;
  static constexpr bool kHasMin = true;
  static constexpr int kSum8Times = 0;
  using Act = ActQ8_1F;
  template <int N>
  static void dot(const uint8_t* q, const Act* const (&a)[N], __m256i (&isum)[N]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i s16[N];
    for (int n = 0; n < N; ++n) s16[n] = _mm256_setzero_si256();
    auto chunk = [&](int c) {
      const __m256i v = load_u256(q + 32 * c);
      const __m256i lo = _mm256_and_si256(v, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      for (int n = 0; n < N; ++n) {
        s16[n] = _mm256_add_epi16(s16[n], _mm256_maddubs_epi16(lo, bcast_i32(a[n]->qs + 4 * c)));
        s16[n] = _mm256_add_epi16(s16[n], _mm256_maddubs_epi16(hi, bcast_i32(a[n]->qs + 16 + 4 * c)));
      }
    };
    steps<4, N <= 2 ? 4 : 1>(chunk);
    for (int n = 0; n < N; ++n) isum[n] = _mm256_madd_epi16(s16[n], _mm256_set1_epi16(1));
  }
};

template <size_t kBlockBytes, bool kMin, int kTimes, typename A>
struct Values5x8 {
  static constexpr size_t kTileBlock = 8 * kBlockBytes;
  static constexpr bool kHasMin = kMin;
  static constexpr int kSum8Times = kTimes;
  using Act = A;
  template <int N>
  static void dot(const uint8_t* q, const Act* const (&a)[N], __m256i (&isum)[N]) {
    __m256i e[8];
    values5_x8(q, e);
    for (int n = 0; n < N; ++n) isum[n] = dot_values5_x8(e, a[n]->qs, _mm256_set1_epi16(1));
  }
};
using Q5_0x8 = Values5x8<22, false, 2, ActQ8_0Sum>;  // -16 * sum(a) = -2 * sum8
using Q5_1x8 = Values5x8<24, true, 0, ActQ8_1F>;

template <typename Fmt, int N>
void legacy_x8_rows(int64_t nb, const uint8_t* tile, const uint8_t* act, size_t stride, float* y, int64_t ldy,
                    bool accumulate) {
  constexpr size_t kHead = Fmt::kHasMin ? 32 : 16;
  __m256 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = tile + b * Fmt::kTileBlock;
    prefetch_stream<Fmt::kTileBlock>(blk);
    const typename Fmt::Act* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const typename Fmt::Act*>(act + n * stride) + b;
    __m256i isum[N];
    Fmt::template dot<N>(blk + kHead, a, isum);
    const __m256 dw = _mm256_cvtph_ps(load_u128(blk));
    for (int n = 0; n < N; ++n) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(a[n]->d));
      if constexpr (Fmt::kHasMin) {
        acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum[n])));
        acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_cvtph_ps(load_u128(blk + 16)), _mm256_set1_ps(a[n]->s)));
      } else {
        const __m256i total = _mm256_sub_epi32(isum[n], _mm256_set1_epi32(Fmt::kSum8Times * a[n]->sum8));
        acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(d, _mm256_cvtepi32_ps(total)));
      }
    }
  }
  for (int n = 0; n < N; ++n) store_rows8(y + n * ldy, acc[n], accumulate);
}

template <typename Fmt>
void legacy_x8_gemm(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                    size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  for_tiles_and_act_groups<4>(tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy,
                              [&](auto n, const uint8_t* tile, const uint8_t* a, float* out) {
                                legacy_x8_rows<Fmt, decltype(n)::value>(n_in / 32, tile, a, act_stride, out, ldy, accumulate);
                              });
}

}  // namespace

void gemm_q4_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  for_tiles_and_act_groups<4>(tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy,
                              [&](auto n, const uint8_t* tile, const uint8_t* a, float* out) {
                                q4_0x8_rows<decltype(n)::value>(n_in / 32, tile, a, act_stride, out, ldy, accumulate);
                              });
}

void gemm_q4_1x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  legacy_x8_gemm<Q4_1x8>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q5_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  legacy_x8_gemm<Q5_0x8>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q5_1x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  legacy_x8_gemm<Q5_1x8>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q8_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  for_tiles_and_act_groups<6>(tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy,
                              [&](auto n, const uint8_t* tile, const uint8_t* a, float* out) {
                                q8_0x8_rows<decltype(n)::value>(n_in / 32, tile, a, act_stride, out, ldy, accumulate);
                              });
}

}  // namespace kestrel
