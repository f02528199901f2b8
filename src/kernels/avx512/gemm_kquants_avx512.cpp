// AVX-512 tile-pair kernels for q4_Kx8, q5_Kx8 and q6_Kx8 (gemm_avx512.h): the AVX2
// kernels' exact integer schemes (kernels/avx2/gemm_kquants_avx2.cpp) on 16
// rows at once, tile a's rows in lanes 0-7 and tile b's in lanes 8-15.
//   isum = sum_s sc_s * (q . a over sub-block s): the 8 maddubs of a
//   sub-block summed in int16 (<= 8 * 2 * 15 * 128 = 30720, no saturation),
//   then vpdpwssd with the (sc, sc) pairs adds sc * sum into int32;
//   mins_dot = sum_s m_s * (bsums[2s] + bsums[2s+1]);
// then the oracle's float steps per lane: acc += (d * d_a) * isum;
// acc -= (dmin * d_a) * mins_dot. Bit-identical to vec_dot_q4_K_q8_K_ref.
// q5_K: the same with levels 0..31 (4 maddubs per int16 sum, 2 per
// sub-block), bit-identical to vec_dot_q5_K_q8_K_ref.
// q6_K: isum = sum_g sc_g * (q . a over group g of 16) - 32 * sum_g sc_g *
// bsums[g], q in 0..63 (2 maddubs per int16 sum: 2 * 2 * 63 * 128 = 32256),
// signed scales applied with vpdpwssd; acc += (d * d_a) * isum.
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx512/gemm_avx512.h"
#include "kernels/avx512/simd_avx512.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx512;

constexpr size_t kQ6_KTileBlock = 8 * sizeof(BlockQ6_K);  // 1680
constexpr int kMaxDecodeActs = 2;  // activation rows that go to the AVX2 kernel
constexpr int kMaxActs = 6;

__m512i mask8(int m) { return _mm512_set1_epi8(static_cast<char>(m)); }

// Byte B of every 32-bit lane, zero-extended to int16, in both halves of
// the lane: the (scale, scale) pair (pshufb works within 128-bit lanes, so
// one 16-byte pattern serves all four).
template <int B>
__m512i dup_byte_u16(__m512i v) {
  constexpr char z = -128;
  const __m512i idx = _mm512_broadcast_i32x4(
      _mm_setr_epi8(B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B, z));
  return _mm512_shuffle_epi8(v, idx);
}

// Bytes B, B+1 of every 32-bit lane as zero-extended int16 pairs.
template <int B>
__m512i pair_bytes_u16(__m512i v) {
  constexpr char z = -128;
  const __m512i idx = _mm512_broadcast_i32x4(
      _mm_setr_epi8(B, z, B + 1, z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B, z));
  return _mm512_shuffle_epi8(v, idx);
}

// Signed byte B of every 32-bit lane sign-extended to int16, in both halves
// (the byte goes to each int16's high half; the arithmetic shift extends it).
template <int B>
__m512i dup_byte_i16(__m512i v) {
  constexpr char z = -128;
  const __m512i idx = _mm512_broadcast_i32x4(
      _mm_setr_epi8(z, B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B));
  return _mm512_srai_epi16(_mm512_shuffle_epi8(v, idx), 8);
}

// Signed bytes B, B+1 of every 32-bit lane as sign-extended int16 pairs.
template <int B>
__m512i pair_bytes_i16(__m512i v) {
  constexpr char z = -128;
  const __m512i idx = _mm512_broadcast_i32x4(
      _mm_setr_epi8(z, B, z, B + 1, z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B));
  return _mm512_srai_epi16(_mm512_shuffle_epi8(v, idx), 8);
}

// The part of a q4_Kx8 / q5_Kx8 tile-pair block that differs between the
// two: sub-block S (32 elements of the 16 rows) dotted with the N rows'
// quants in int16 sums that cannot saturate, then isum += sc * sum.
struct Q4KQuants {
  static constexpr size_t kTileBlock = 8 * sizeof(BlockQ4_K);  // 1152
  // Sub-block S = 2c + h: nibble half h of chunk c's 8 vectors; 8 maddubs
  // per int16 sum (<= 8 * 2 * 15 * 128).
  template <int S, int N>
  [[gnu::always_inline]] static void sub_block(const uint8_t* qa, const uint8_t* qb, const int8_t* const (&a)[N],
                                               __m512i sc, __m512i (&isum)[N]) {
    constexpr int c = S / 2, h = S % 2;
    const __m512i m4 = mask8(0x0F);
    __m512i s16[N];
    for (int n = 0; n < N; ++n) s16[n] = _mm512_setzero_si512();
    auto step = [&](int g) {
      const __m512i q = load_pair256(qa + 32 * (8 * c + g), qb + 32 * (8 * c + g));
      const __m512i nib = h == 0 ? _mm512_and_si512(q, m4) : _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
      for (int n = 0; n < N; ++n) {
        s16[n] = _mm512_add_epi16(s16[n], _mm512_maddubs_epi16(nib, bcast_i32(a[n] + 32 * S + 4 * g)));
      }
    };
    steps<8, N <= 2 ? 8 : 2>(step);
    for (int n = 0; n < N; ++n) isum[n] = _mm512_dpwssd_epi32(isum[n], s16[n], sc);
  }
};

// Bits of each byte of x >> Shift (16-bit shift) under Mask.
template <int Shift, int Mask>
__m512i bits(__m512i x) {
  return _mm512_and_si512(_mm512_srli_epi16(x, Shift), mask8(Mask));
}

struct Q5KQuants {
  static constexpr size_t kTileBlock = 8 * sizeof(BlockQ5_K);  // 1408
  // Sub-block S is 160 bytes per tile in the 5-bit layout
  // (kernels/avx2/tile_levels_avx2.h, values5_x8): 8 vectors of values
  // 0..31 rebuilt from 5, then two int16 sums of 4 maddubs each
  // (4 * 2 * 31 * 128 = 31744 < 2^15).
  template <int S, int N>
  [[gnu::always_inline]] static void sub_block(const uint8_t* qa, const uint8_t* qb, const int8_t* const (&a)[N],
                                               __m512i sc, __m512i (&isum)[N]) {
    const uint8_t* pa = qa + 160 * S;
    const uint8_t* pb = qb + 160 * S;
    const __m512i v0 = load_pair256(pa, pb), v1 = load_pair256(pa + 32, pb + 32), v2 = load_pair256(pa + 64, pb + 64);
    const __m512i v3 = load_pair256(pa + 96, pb + 96), v4 = load_pair256(pa + 128, pb + 128);
    const __m512i m5 = mask8(0x1F);
    __m512i e[8];
    e[0] = _mm512_and_si512(v0, m5);
    e[1] = _mm512_and_si512(v1, m5);
    e[2] = _mm512_and_si512(v2, m5);
    e[3] = _mm512_and_si512(v3, m5);
    e[4] = _mm512_and_si512(v4, m5);
    e[5] = _mm512_or_si512(bits<5, 0x07>(v0), bits<2, 0x18>(v1));
    e[6] = _mm512_or_si512(_mm512_or_si512(bits<7, 0x01>(v1), bits<4, 0x0E>(v2)), bits<1, 0x10>(v3));
    e[7] = _mm512_or_si512(bits<6, 0x03>(v3), bits<3, 0x1C>(v4));
    for (int n = 0; n < N; ++n) {
      const int8_t* an = a[n] + 32 * S;
      for (int j = 0; j < 8; j += 4) {
        const __m512i s01 = _mm512_add_epi16(_mm512_maddubs_epi16(e[j], bcast_i32(an + 4 * j)),
                                             _mm512_maddubs_epi16(e[j + 1], bcast_i32(an + 4 * j + 4)));
        const __m512i s23 = _mm512_add_epi16(_mm512_maddubs_epi16(e[j + 2], bcast_i32(an + 4 * j + 8)),
                                             _mm512_maddubs_epi16(e[j + 3], bcast_i32(an + 4 * j + 12)));
        isum[n] = _mm512_dpwssd_epi32(isum[n], _mm512_add_epi16(s01, s23), sc);
      }
    }
  }
};

// q4_Kx8 and q5_Kx8 tile pairs: d[8], dmin[8], the interleaved 12-byte
// scale fields (3 vectors per tile), then Quants' bytes from offset 128.
template <typename Quants, int N>
void k4_scaled_x16_rows(int64_t nsb, const uint8_t* ta, const uint8_t* tb, const uint8_t* act, size_t stride, float* y,
                  int64_t ldy, bool accumulate) {
  __m512 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm512_setzero_ps();
  const __m512i m4 = mask8(0x0F), m6 = mask8(0x3F), m30 = mask8(0x30);
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ba = ta + i * Quants::kTileBlock;
    const uint8_t* bb = tb + i * Quants::kTileBlock;
    prefetch_stream<Quants::kTileBlock>(ba);
    prefetch_stream<Quants::kTileBlock>(bb);
    const BlockQ8_K* a[N];
    const int8_t* aq[N];
    for (int n = 0; n < N; ++n) {
      a[n] = reinterpret_cast<const BlockQ8_K*>(act + n * stride) + i;
      aq[n] = a[n]->qs;
    }
    // Lane r of w0/w1/w2 holds bytes 0-3 / 4-7 / 8-11 of row r's scales.
    const __m512i w0 = load_pair256(ba + 32, bb + 32), w1 = load_pair256(ba + 64, bb + 64);
    const __m512i w2 = load_pair256(ba + 96, bb + 96);
    const __m512i sc_lo = _mm512_and_si512(w0, m6);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(w2, m4), _mm512_and_si512(_mm512_srli_epi16(w0, 2), m30));
    const __m512i mn_lo = _mm512_and_si512(w1, m6);
    const __m512i mn_hi =
        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(w2, 4), m4), _mm512_and_si512(_mm512_srli_epi16(w1, 2), m30));
    __m512i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm512_setzero_si512();
    const uint8_t* qa = ba + 128;
    const uint8_t* qb = bb + 128;
    Quants::template sub_block<0, N>(qa, qb, aq, dup_byte_u16<0>(sc_lo), isum);
    Quants::template sub_block<1, N>(qa, qb, aq, dup_byte_u16<1>(sc_lo), isum);
    Quants::template sub_block<2, N>(qa, qb, aq, dup_byte_u16<2>(sc_lo), isum);
    Quants::template sub_block<3, N>(qa, qb, aq, dup_byte_u16<3>(sc_lo), isum);
    Quants::template sub_block<4, N>(qa, qb, aq, dup_byte_u16<0>(sc_hi), isum);
    Quants::template sub_block<5, N>(qa, qb, aq, dup_byte_u16<1>(sc_hi), isum);
    Quants::template sub_block<6, N>(qa, qb, aq, dup_byte_u16<2>(sc_hi), isum);
    Quants::template sub_block<7, N>(qa, qb, aq, dup_byte_u16<3>(sc_hi), isum);
    const __m512i mn01 = pair_bytes_u16<0>(mn_lo), mn23 = pair_bytes_u16<2>(mn_lo);
    const __m512i mn45 = pair_bytes_u16<0>(mn_hi), mn67 = pair_bytes_u16<2>(mn_hi);
    const __m512 d = scales_pair(ba, bb);
    const __m512 dmin = scales_pair(ba + 16, bb + 16);
    for (int n = 0; n < N; ++n) {
      // bsums of the 8 sub-blocks of 32, as (2p, 2p+1) pairs per lane.
      const __m128i b32 = _mm_hadd_epi16(load_u128(a[n]->bsums), load_u128(a[n]->bsums + 8));
      const __m512i bs = _mm512_broadcast_i32x4(b32);
      __m512i mdot = _mm512_madd_epi16(mn01, _mm512_shuffle_epi32(bs, _MM_PERM_AAAA));
      mdot = _mm512_dpwssd_epi32(mdot, mn23, _mm512_shuffle_epi32(bs, _MM_PERM_BBBB));
      mdot = _mm512_dpwssd_epi32(mdot, mn45, _mm512_shuffle_epi32(bs, _MM_PERM_CCCC));
      mdot = _mm512_dpwssd_epi32(mdot, mn67, _mm512_shuffle_epi32(bs, _MM_PERM_DDDD));
      const __m512 da = _mm512_set1_ps(a[n]->d);
      acc[n] = _mm512_add_ps(acc[n], _mm512_mul_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(isum[n])));
      acc[n] = _mm512_sub_ps(acc[n], _mm512_mul_ps(_mm512_mul_ps(dmin, da), _mm512_cvtepi32_ps(mdot)));
    }
  }
  for (int n = 0; n < N; ++n) store_rows16(y + n * ldy, acc[n], accumulate);
}

template <int N>
void q6_Kx16_rows(int64_t nsb, const uint8_t* ta, const uint8_t* tb, const uint8_t* act, size_t stride, float* y,
                  int64_t ldy, bool accumulate) {
  __m512 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm512_setzero_ps();
  const __m512i m6 = mask8(0x3F);
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* ba = ta + i * kQ6_KTileBlock;
    const uint8_t* bb = tb + i * kQ6_KTileBlock;
    prefetch_stream<kQ6_KTileBlock>(ba);
    prefetch_stream<kQ6_KTileBlock>(bb);
    const BlockQ8_K* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const BlockQ8_K*>(act + n * stride) + i;
    __m512i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm512_setzero_si512();
    // Group g = 4v + B: scale byte B of every lane of scale vector v; quants
    // in 3 vectors (low 6 bits: elements 4j..4j+3; top 2 bits: a third of
    // element 12 + k), as in the AVX2 kernel.
    auto group = [&](auto b_tag, int v, __m512i sc_v) {
      constexpr int B = decltype(b_tag)::value;
      const size_t off = 16 + 128 + 96 * (4 * v + B);
      const __m512i v0 = load_pair256(ba + off, bb + off), v1 = load_pair256(ba + off + 32, bb + off + 32);
      const __m512i v2 = load_pair256(ba + off + 64, bb + off + 64);
      const __m512i e0 = _mm512_and_si512(v0, m6), e1 = _mm512_and_si512(v1, m6), e2 = _mm512_and_si512(v2, m6);
      const __m512i e3 = _mm512_or_si512(
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v0, 6), mask8(0x03)),
                          _mm512_and_si512(_mm512_srli_epi16(v1, 4), mask8(0x0C))),
          _mm512_and_si512(_mm512_srli_epi16(v2, 2), mask8(0x30)));
      const __m512i sc = dup_byte_i16<B>(sc_v);
      for (int n = 0; n < N; ++n) {
        const int8_t* an = a[n]->qs + 16 * (4 * v + B);
        const __m512i s01 =
            _mm512_add_epi16(_mm512_maddubs_epi16(e0, bcast_i32(an)), _mm512_maddubs_epi16(e1, bcast_i32(an + 4)));
        const __m512i s23 = _mm512_add_epi16(_mm512_maddubs_epi16(e2, bcast_i32(an + 8)),
                                             _mm512_maddubs_epi16(e3, bcast_i32(an + 12)));
        isum[n] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[n], s01, sc), s23, sc);
      }
    };
    auto four_groups = [&](int v) {
      const __m512i sc_v = load_pair256(ba + 16 + 32 * v, bb + 16 + 32 * v);
      group(std::integral_constant<int, 0>{}, v, sc_v);
      group(std::integral_constant<int, 1>{}, v, sc_v);
      group(std::integral_constant<int, 2>{}, v, sc_v);
      group(std::integral_constant<int, 3>{}, v, sc_v);
    };
    steps<4, N <= 2 ? 4 : 1>(four_groups);
    // The -32 offset: 32 * sum_g sc_g * bsums[g], scales taken in pairs.
    __m512i scp[8];
    for (int v = 0; v < 4; ++v) {
      const __m512i sc_v = load_pair256(ba + 16 + 32 * v, bb + 16 + 32 * v);
      scp[2 * v] = pair_bytes_i16<0>(sc_v);
      scp[2 * v + 1] = pair_bytes_i16<2>(sc_v);
    }
    const __m512 d = scales_pair(ba, bb);
    for (int n = 0; n < N; ++n) {
      __m512i off = _mm512_setzero_si512();
      for (int p = 0; p < 8; ++p) off = _mm512_dpwssd_epi32(off, scp[p], bcast_i32(a[n]->bsums + 2 * p));
      const __m512i total = _mm512_sub_epi32(isum[n], _mm512_slli_epi32(off, 5));
      const __m512 da = _mm512_set1_ps(a[n]->d);
      acc[n] = _mm512_add_ps(acc[n], _mm512_mul_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(total)));
    }
  }
  for (int n = 0; n < N; ++n) store_rows16(y + n * ldy, acc[n], accumulate);
}

}  // namespace

void gemm_q4_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  gemm_tile_pairs<kMaxActs, kMaxDecodeActs>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate,
                                            gemm_q4_Kx8_avx2, n_in / QK_K,
                                            [](auto n) { return k4_scaled_x16_rows<Q4KQuants, decltype(n)::value>; });
}

void gemm_q5_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  gemm_tile_pairs<kMaxActs, kMaxDecodeActs>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate,
                                            gemm_q5_Kx8_avx2, n_in / QK_K,
                                            [](auto n) { return k4_scaled_x16_rows<Q5KQuants, decltype(n)::value>; });
}

void gemm_q6_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  gemm_tile_pairs<kMaxActs, kMaxDecodeActs>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate,
                                            gemm_q6_Kx8_avx2, n_in / QK_K,
                                            [](auto n) { return q6_Kx16_rows<decltype(n)::value>; });
}

}  // namespace kestrel
