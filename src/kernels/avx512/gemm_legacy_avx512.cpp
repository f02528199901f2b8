// AVX-512 VNNI tile-pair kernels for q4_0x8 and q8_0x8 (gemm_avx512.h).
//
// q4_0x8: the nibbles (0..15, unsigned) against the signed Q8_0
// activations with vpdpbusd, 4 products summed straight into int32 per
// lane (the AVX2 kernel needs maddubs + an int16 sum + madd for the same
// exact sum); the -8 offset is folded as -sum8 from the activation block.
// q8_0x8: both operands signed, so the weights are sign-extended to int16
// and vpdpwssd multiplies them with the widened activations (ActQ8_0Wide),
// 2 products per lane per instruction, exact.
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx512/gemm_avx512.h"
#include "kernels/avx512/simd_avx512.h"
#include "kernels/packed.h"

namespace kestrel {
namespace {

using namespace avx512;

constexpr size_t kQ4_0TileBlock = 8 * 18;  // d[8] + 128 bytes of nibbles
constexpr size_t kQ8_0TileBlock = 8 * 34;  // d[8] + 256 bytes of int8
constexpr int kMaxDecodeActs = 2;  // activation rows that go to the AVX2 kernel
constexpr int kMaxActs = 8;                // activation rows per pass over a tile pair

template <int N>
void q4_0x16_rows(int64_t nb, const uint8_t* ta, const uint8_t* tb, const uint8_t* act, size_t stride, float* y,
                  int64_t ldy, bool accumulate) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ba = ta + b * kQ4_0TileBlock;
    const uint8_t* bb = tb + b * kQ4_0TileBlock;
    prefetch_stream<kQ4_0TileBlock>(ba);
    prefetch_stream<kQ4_0TileBlock>(bb);
    const ActQ8_0Sum* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const ActQ8_0Sum*>(act + n * stride) + b;
    __m512i s32[N];
    for (int n = 0; n < N; ++n) s32[n] = _mm512_setzero_si512();
    auto chunk = [&](int c) {
      const __m512i q = load_pair256(ba + 16 + 32 * c, bb + 16 + 32 * c);
      const __m512i lo = _mm512_and_si512(q, m4);                        // elements 4c..4c+3
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);  // elements 16+4c..
      for (int n = 0; n < N; ++n) {
        s32[n] = _mm512_dpbusd_epi32(s32[n], lo, bcast_i32(a[n]->qs + 4 * c));
        s32[n] = _mm512_dpbusd_epi32(s32[n], hi, bcast_i32(a[n]->qs + 16 + 4 * c));
      }
    };
    steps<4, 4>(chunk);
    const __m512 dw = scales_pair(ba, bb);
    for (int n = 0; n < N; ++n) {
      const __m512i isum = _mm512_sub_epi32(s32[n], _mm512_set1_epi32(a[n]->sum8));
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(a[n]->d));
      acc[n] = _mm512_add_ps(acc[n], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)));
    }
  }
  for (int n = 0; n < N; ++n) store_rows16(y + n * ldy, acc[n], accumulate);
}

template <int N>
void q8_0x16_rows(int64_t nb, const uint8_t* ta, const uint8_t* tb, const uint8_t* act, size_t stride, float* y,
                  int64_t ldy, bool accumulate) {
  __m512 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ba = ta + b * kQ8_0TileBlock;
    const uint8_t* bb = tb + b * kQ8_0TileBlock;
    prefetch_stream<kQ8_0TileBlock>(ba);
    prefetch_stream<kQ8_0TileBlock>(bb);
    const ActQ8_0Wide* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const ActQ8_0Wide*>(act + n * stride) + b;
    __m512i s32[N];
    for (int n = 0; n < N; ++n) s32[n] = _mm512_setzero_si512();
    auto step = [&](int g) {  // columns 2g, 2g+1 of the 16 rows
      const __m512i w = _mm512_cvtepi8_epi16(load_pair128(ba + 16 + 16 * g, bb + 16 + 16 * g));
      for (int n = 0; n < N; ++n) s32[n] = _mm512_dpwssd_epi32(s32[n], w, bcast_i32(a[n]->qs + 2 * g));
    };
    steps<16, N <= 2 ? 16 : 4>(step);
    const __m512 dw = scales_pair(ba, bb);
    for (int n = 0; n < N; ++n) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(a[n]->d));
      acc[n] = _mm512_add_ps(acc[n], _mm512_mul_ps(d, _mm512_cvtepi32_ps(s32[n])));
    }
  }
  for (int n = 0; n < N; ++n) store_rows16(y + n * ldy, acc[n], accumulate);
}

}  // namespace

void gemm_q4_0x8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  gemm_tile_pairs<kMaxActs, kMaxDecodeActs>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate,
                                            gemm_q4_0x8_avx2, n_in / 32,
                                            [](auto n) { return q4_0x16_rows<decltype(n)::value>; });
}

void gemm_q8_0x8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  gemm_tile_pairs<kMaxActs, kMaxDecodeActs>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate,
                                            gemm_q8_0x8_avx2, n_in / 32,
                                            [](auto n) { return q8_0x16_rows<decltype(n)::value>; });
}

}  // namespace kestrel
