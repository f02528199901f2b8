// AVX2 tile kernels for the packed K-quant formats q2_Kx8, q3_Kx8, q4_Kx8,
// q5_Kx8 and q6_Kx8 (layouts in kernels/packed.cpp) against Q8_K activation rows.
//
// As in the legacy tile kernels, lane r is weight row r throughout. Per
// super-block the integer work is exact and matches the oracle
// (kernels/ref/vec_dot_k_ref.cpp) term for term:
//   q4_K: isum = sum_s sc_s * (q . a over sub-block s of 32), with the 8
//         maddubs of a sub-block summed in int16 (<= 8 * 2 * 15 * 128 =
//         30720) before madd by the scale; mins_dot = sum_s m_s * (bsums[2s]
//         + bsums[2s+1]);
//   q5_K: the same, with levels 0..31: 4 maddubs per int16 sum (4 * 2 *
//         31 * 128 = 31744), two per sub-block;
//   q2_K: as q4_K with 16 groups of 16 (4-bit scales and mins, levels
//         0..3): 4 maddubs per int16 sum, one madd per group;
//   q3_K: isum = sum_g sc_g * ((q - 4) . a over group g of 16) with q in
//         0..7 and signed scales, computed like q6_K's below (4 maddubs
//         per int16 sum, one madd per group);
//   q6_K: isum = sum_g sc_g * ((q - 32) . a over group g of 16), computed as
//         sum_g sc_g * (q . a) - 32 * sum_g sc_g * bsums[g] with q in 0..63;
//         only 2 maddubs fit in int16 (2 * 2 * 63 * 128 = 32256), so each
//         group takes 2 madds by its scale.
// then the float steps are the oracle's, per lane:
//   acc += (d * d_a) * (float)isum;  acc -= (dmin * d_a) * (float)mins_dot.
// The 6-bit scales of q4_K and q5_K are decoded for all 8 rows at once from the
// interleaved 12-byte fields (three 32-byte vectors).
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/tile_levels_avx2.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx2;

constexpr size_t kQ2_KTileBlock = 8 * sizeof(BlockQ2_K);  // 672
constexpr size_t kQ3_KTileBlock = 8 * sizeof(BlockQ3_K);  // 880
constexpr size_t kQ6_KTileBlock = 8 * sizeof(BlockQ6_K);  // 1680

__m256i mask8(int m) { return _mm256_set1_epi8(static_cast<char>(m)); }

// Byte b (0..3) of every 32-bit lane of v, zero-extended to int16 and put in
// both halves of the lane: the (scale, scale) pair madd needs.
template <int B>
__m256i dup_byte_u16(__m256i v) {
  constexpr char z = -128;  // pshufb: zero this byte
  const __m256i idx = _mm256_setr_epi8(B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B, z,
                                       B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B, z);
  return _mm256_shuffle_epi8(v, idx);
}

// Bytes B, B+1 of every 32-bit lane as zero-extended int16 (lo, hi) pairs.
template <int B>
__m256i pair_bytes_u16(__m256i v) {
  constexpr char z = -128;
  const __m256i idx =
      _mm256_setr_epi8(B, z, B + 1, z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B, z, B, z, B + 1,
                       z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B, z);
  return _mm256_shuffle_epi8(v, idx);
}

// Same as the above two for signed bytes: the byte goes to the high half of
// each int16 and an arithmetic shift sign-extends it (by 10 for q3_Kx8's
// scales, signed 6-bit values in bits 2-7 of their byte).
template <int B, int Shift = 8>
__m256i dup_byte_i16(__m256i v) {
  constexpr char z = -128;
  const __m256i idx = _mm256_setr_epi8(z, B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B,
                                       z, B, z, B, z, 4 + B, z, 4 + B, z, 8 + B, z, 8 + B, z, 12 + B, z, 12 + B);
  return _mm256_srai_epi16(_mm256_shuffle_epi8(v, idx), Shift);
}

template <int B, int Shift = 8>
__m256i pair_bytes_i16(__m256i v) {
  constexpr char z = -128;
  const __m256i idx =
      _mm256_setr_epi8(z, B, z, B + 1, z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B, z, B, z,
                       B + 1, z, 4 + B, z, 5 + B, z, 8 + B, z, 9 + B, z, 12 + B, z, 13 + B);
  return _mm256_srai_epi16(_mm256_shuffle_epi8(v, idx), Shift);
}

// The part of a q4_Kx8 / q5_Kx8 tile block that differs between the two:
// sub-block S (32 elements of the 8 rows) dotted with the N activation
// rows' quants `a[n]` (the super-block's 256), in int16 sums that cannot
// saturate, then widened by the sub-block scale: isum[n] += sc * (q . a).
struct Q4KQuants {
  static constexpr size_t kTileBlock = 8 * sizeof(BlockQ4_K);  // 1152
  // Sub-block S = 2c + h: nibble half h of the 32 bytes of chunk c, i.e.
  // vectors 8c..8c+7; 8 maddubs summed in int16 (<= 8 * 2 * 15 * 128).
  template <int S, int N>
  static void sub_block(const uint8_t* quants, const int8_t* const (&a)[N], __m256i sc, __m256i (&isum)[N]) {
    constexpr int c = S / 2, h = S % 2;
    const __m256i m4 = mask8(0x0F);
    __m256i s16[N];
    for (int n = 0; n < N; ++n) s16[n] = _mm256_setzero_si256();
    auto step = [&](int g) {
      const __m256i q = load_u256(quants + 32 * (8 * c + g));
      const __m256i nib = h == 0 ? _mm256_and_si256(q, m4) : _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      for (int n = 0; n < N; ++n) {
        s16[n] = _mm256_add_epi16(s16[n], _mm256_maddubs_epi16(nib, bcast_i32(a[n] + 32 * S + 4 * g)));
      }
    };
    steps<8, N <= 2 ? 8 : 2>(step);
    for (int n = 0; n < N; ++n) isum[n] = _mm256_add_epi32(isum[n], _mm256_madd_epi16(s16[n], sc));
  }
};

struct Q5KQuants {
  static constexpr size_t kTileBlock = 8 * sizeof(BlockQ5_K);  // 1408
  // Sub-block S is 160 bytes in the 5-bit layout (tile_levels_avx2.h).
  template <int S, int N>
  static void sub_block(const uint8_t* quants, const int8_t* const (&a)[N], __m256i sc, __m256i (&isum)[N]) {
    __m256i e[8];
    values5_x8(quants + 160 * S, e);
    for (int n = 0; n < N; ++n) isum[n] = _mm256_add_epi32(isum[n], dot_values5_x8(e, a[n] + 32 * S, sc));
  }
};

// q4_Kx8 and q5_Kx8: d[8], dmin[8], the interleaved 12-byte scale fields
// (3 vectors), then Quants' bytes from offset 128.
template <typename Quants>
struct K4Scaled {
  static constexpr size_t kTileBlock = Quants::kTileBlock;
  template <int N>
  [[gnu::always_inline]] static void block(const uint8_t* blk, const BlockQ8_K* const (&a)[N], __m256 (&acc)[N]) {
    const __m256i m4 = mask8(0x0F);
    const int8_t* aq[N];
    for (int n = 0; n < N; ++n) aq[n] = a[n]->qs;
    // Lane r of w0/w1/w2 holds bytes 0-3 / 4-7 / 8-11 of row r's scales.
    const __m256i w0 = load_u256(blk + 32), w1 = load_u256(blk + 64), w2 = load_u256(blk + 96);
    const __m256i m6 = mask8(0x3F), m30 = mask8(0x30);
    const __m256i sc_lo = _mm256_and_si256(w0, m6);  // scales 0..3
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(w2, m4),
                                          _mm256_and_si256(_mm256_srli_epi16(w0, 2), m30));  // scales 4..7
    const __m256i mn_lo = _mm256_and_si256(w1, m6);
    const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w2, 4), m4),
                                          _mm256_and_si256(_mm256_srli_epi16(w1, 2), m30));
    __m256i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm256_setzero_si256();
    const uint8_t* quants = blk + 128;
    Quants::template sub_block<0, N>(quants, aq, dup_byte_u16<0>(sc_lo), isum);
    Quants::template sub_block<1, N>(quants, aq, dup_byte_u16<1>(sc_lo), isum);
    Quants::template sub_block<2, N>(quants, aq, dup_byte_u16<2>(sc_lo), isum);
    Quants::template sub_block<3, N>(quants, aq, dup_byte_u16<3>(sc_lo), isum);
    Quants::template sub_block<4, N>(quants, aq, dup_byte_u16<0>(sc_hi), isum);
    Quants::template sub_block<5, N>(quants, aq, dup_byte_u16<1>(sc_hi), isum);
    Quants::template sub_block<6, N>(quants, aq, dup_byte_u16<2>(sc_hi), isum);
    Quants::template sub_block<7, N>(quants, aq, dup_byte_u16<3>(sc_hi), isum);
    const __m256i mn01 = pair_bytes_u16<0>(mn_lo), mn23 = pair_bytes_u16<2>(mn_lo);
    const __m256i mn45 = pair_bytes_u16<0>(mn_hi), mn67 = pair_bytes_u16<2>(mn_hi);
    const __m256 d = _mm256_cvtph_ps(load_u128(blk));
    const __m256 dmin = _mm256_cvtph_ps(load_u128(blk + 16));
    for (int n = 0; n < N; ++n) {
      // bsums of the 8 sub-blocks of 32, as (2p, 2p+1) pairs per lane.
      const __m128i b32 = _mm_hadd_epi16(load_u128(a[n]->bsums), load_u128(a[n]->bsums + 8));
      const __m256i bs = _mm256_broadcastsi128_si256(b32);
      __m256i mdot = _mm256_madd_epi16(mn01, _mm256_shuffle_epi32(bs, 0x00));
      mdot = _mm256_add_epi32(mdot, _mm256_madd_epi16(mn23, _mm256_shuffle_epi32(bs, 0x55)));
      mdot = _mm256_add_epi32(mdot, _mm256_madd_epi16(mn45, _mm256_shuffle_epi32(bs, 0xAA)));
      mdot = _mm256_add_epi32(mdot, _mm256_madd_epi16(mn67, _mm256_shuffle_epi32(bs, 0xFF)));
      const __m256 da = _mm256_set1_ps(a[n]->d);
      acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(isum[n])));
      acc[n] = _mm256_sub_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(dmin, da), _mm256_cvtepi32_ps(mdot)));
    }
  }
};


struct Q2K {
  static constexpr size_t kTileBlock = kQ2_KTileBlock;
  template <int N>
  [[gnu::always_inline]] static void block(const uint8_t* blk, const BlockQ8_K* const (&a)[N], __m256 (&acc)[N]) {
    // Group g's scale and min: low and high nibble of byte g % 4 of every
    // lane of the scale vector g / 4.
    __m256i sc[4], mn[4];
    for (int v = 0; v < 4; ++v) {
      const __m256i w = load_u256(blk + 32 + 32 * v);
      sc[v] = _mm256_and_si256(w, mask8(0x0F));
      mn[v] = bits<4, 0x0F>(w);
    }
    const uint8_t* quants = blk + 32 + 128;
    __m256i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm256_setzero_si256();
    // Group g: one vector, element vector j (elements 4j..4j+3 of the
    // group) in bits 2j, 2j+1 of every byte; 4 maddubs per int16 sum
    // (4 * 2 * 3 * 128 = 3072).
    auto group = [&](auto g_tag) {
      constexpr int g = decltype(g_tag)::value;
      const __m256i v = load_u256(quants + 32 * g);
      const __m256i e0 = _mm256_and_si256(v, mask8(0x03)), e1 = bits<2, 0x03>(v), e2 = bits<4, 0x03>(v),
                    e3 = bits<6, 0x03>(v);
      const __m256i scale = dup_byte_u16<g % 4>(sc[g / 4]);
      for (int n = 0; n < N; ++n) {
        const int8_t* an = a[n]->qs + 16 * g;
        const __m256i s = _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(e0, bcast_i32(an)),
                                                            _mm256_maddubs_epi16(e1, bcast_i32(an + 4))),
                                           _mm256_add_epi16(_mm256_maddubs_epi16(e2, bcast_i32(an + 8)),
                                                            _mm256_maddubs_epi16(e3, bcast_i32(an + 12))));
        isum[n] = _mm256_add_epi32(isum[n], _mm256_madd_epi16(s, scale));
      }
    };
    [&]<int... G>(std::integer_sequence<int, G...>) { (group(std::integral_constant<int, G>{}), ...); }(
        std::make_integer_sequence<int, 16>{});
    // mins_dot = sum_g m_g * bsums[g], mins taken in pairs.
    __m256i mnp[8];
    for (int v = 0; v < 4; ++v) {
      mnp[2 * v] = pair_bytes_u16<0>(mn[v]);
      mnp[2 * v + 1] = pair_bytes_u16<2>(mn[v]);
    }
    const __m256 d = _mm256_cvtph_ps(load_u128(blk));
    const __m256 dmin = _mm256_cvtph_ps(load_u128(blk + 16));
    for (int n = 0; n < N; ++n) {
      __m256i mdot = _mm256_setzero_si256();
      for (int p = 0; p < 8; ++p) mdot = _mm256_add_epi32(mdot, _mm256_madd_epi16(mnp[p], bcast_i32(a[n]->bsums + 2 * p)));
      const __m256 da = _mm256_set1_ps(a[n]->d);
      acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(isum[n])));
      acc[n] = _mm256_sub_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(dmin, da), _mm256_cvtepi32_ps(mdot)));
    }
  }
};


struct Q3K {
  static constexpr size_t kTileBlock = kQ3_KTileBlock;
  template <int N>
  [[gnu::always_inline]] static void block(const uint8_t* blk, const BlockQ8_K* const (&a)[N], __m256 (&acc)[N]) {
    // Scale of group g: byte g % 4 of every lane of sv[g / 4], in bits 2-7;
    // the scales of groups 12..15 are gathered from bits 0-1 of the others.
    const __m256i m3 = mask8(0x03);
    const __m256i w0 = load_u256(blk + 16), w1 = load_u256(blk + 48), w2 = load_u256(blk + 80);
    const __m256i w3 = _mm256_or_si256(
        _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(w0, m3), 2), _mm256_slli_epi16(_mm256_and_si256(w1, m3), 4)),
        _mm256_slli_epi16(_mm256_and_si256(w2, m3), 6));
    const __m256i sv[4] = {w0, w1, w2, w3};
    const uint8_t* quants = blk + 16 + 96;
    __m256i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm256_setzero_si256();
    // 32 elements p (groups 2p and 2p+1): 3 vectors hold the 8 element
    // vectors E0..E7 of values 0..7 (layout in kernels/packed.cpp); E0..E3
    // are group 2p, E4..E7 group 2p+1. 16-bit shifts: what they pull in
    // from the neighbouring byte falls outside each mask.
    auto pair = [&](auto p_tag) {
      constexpr int p = decltype(p_tag)::value, g0 = 2 * p, g1 = 2 * p + 1;
      const uint8_t* q = quants + 96 * p;
      const __m256i v0 = load_u256(q), v1 = load_u256(q + 32), v2 = load_u256(q + 64);
      const __m256i m7 = mask8(0x07);
      const __m256i e[8] = {
          _mm256_and_si256(v0, m7),
          _mm256_and_si256(v1, m7),
          _mm256_and_si256(v2, m7),
          bits<3, 0x07>(v0),
          bits<3, 0x07>(v1),
          bits<3, 0x07>(v2),
          _mm256_or_si256(bits<6, 0x03>(v0), bits<4, 0x04>(v1)),
          _mm256_or_si256(bits<7, 0x01>(v1), bits<5, 0x06>(v2)),
      };
      const __m256i sc0 = dup_byte_i16<g0 % 4, 10>(sv[g0 / 4]), sc1 = dup_byte_i16<g1 % 4, 10>(sv[g1 / 4]);
      for (int n = 0; n < N; ++n) {
        const int8_t* an = a[n]->qs + 32 * p;
        // Four maddubs per int16 sum: 4 * 2 * 7 * 128 = 7168.
        auto group = [&](int j) {
          return _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(e[j], bcast_i32(an + 4 * j)),
                                                   _mm256_maddubs_epi16(e[j + 1], bcast_i32(an + 4 * j + 4))),
                                  _mm256_add_epi16(_mm256_maddubs_epi16(e[j + 2], bcast_i32(an + 4 * j + 8)),
                                                   _mm256_maddubs_epi16(e[j + 3], bcast_i32(an + 4 * j + 12))));
        };
        isum[n] = _mm256_add_epi32(isum[n], _mm256_add_epi32(_mm256_madd_epi16(group(0), sc0),
                                                             _mm256_madd_epi16(group(4), sc1)));
      }
    };
    pair(std::integral_constant<int, 0>{});
    pair(std::integral_constant<int, 1>{});
    pair(std::integral_constant<int, 2>{});
    pair(std::integral_constant<int, 3>{});
    pair(std::integral_constant<int, 4>{});
    pair(std::integral_constant<int, 5>{});
    pair(std::integral_constant<int, 6>{});
    pair(std::integral_constant<int, 7>{});
    // The -4 offset: 4 * sum_g sc_g * bsums[g], scales taken in pairs.
    __m256i scp[8];
    for (int v = 0; v < 4; ++v) {
      scp[2 * v] = pair_bytes_i16<0, 10>(sv[v]);
      scp[2 * v + 1] = pair_bytes_i16<2, 10>(sv[v]);
    }
    const __m256 d = _mm256_cvtph_ps(load_u128(blk));
    for (int n = 0; n < N; ++n) {
      __m256i off = _mm256_setzero_si256();
      for (int p = 0; p < 8; ++p) off = _mm256_add_epi32(off, _mm256_madd_epi16(scp[p], bcast_i32(a[n]->bsums + 2 * p)));
      const __m256i total = _mm256_sub_epi32(isum[n], _mm256_slli_epi32(off, 2));
      const __m256 da = _mm256_set1_ps(a[n]->d);
      acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(total)));
    }
  }
};


struct Q6K {
  static constexpr size_t kTileBlock = kQ6_KTileBlock;
  template <int N>
  [[gnu::always_inline]] static void block(const uint8_t* blk, const BlockQ8_K* const (&a)[N], __m256 (&acc)[N]) {
    const uint8_t* quants = blk + 16 + 128;
    __m256i isum[N];
    for (int n = 0; n < N; ++n) isum[n] = _mm256_setzero_si256();
    // Group g = 4v + B of 16 elements: its scale is byte B of every lane of
    // the scale vector v; its quants are 3 vectors, the low 6 bits of each
    // byte one element (vectors e0..e2: elements 4j..4j+3 of the group) and
    // the top 2 bits a third of element 12 + k (vector e3).
    auto group = [&](auto b_tag, int v, __m256i sc_v) {
      constexpr int B = decltype(b_tag)::value;
      const uint8_t* q = quants + 96 * (4 * v + B);
      const __m256i v0 = load_u256(q), v1 = load_u256(q + 32), v2 = load_u256(q + 64);
      const __m256i m6 = mask8(0x3F);
      const __m256i e0 = _mm256_and_si256(v0, m6), e1 = _mm256_and_si256(v1, m6), e2 = _mm256_and_si256(v2, m6);
      // 16-bit shifts: the bits they pull in from the neighbouring byte fall
      // outside each mask.
      const __m256i e3 = _mm256_or_si256(
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v0, 6), mask8(0x03)),
                          _mm256_and_si256(_mm256_srli_epi16(v1, 4), mask8(0x0C))),
          _mm256_and_si256(_mm256_srli_epi16(v2, 2), mask8(0x30)));
      const __m256i sc = dup_byte_i16<B>(sc_v);
      for (int n = 0; n < N; ++n) {
        const int8_t* an = a[n]->qs + 16 * (4 * v + B);
        // Two maddubs per int16 sum at most (2 * 2 * 63 * 128 = 32256).
        const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(e0, bcast_i32(an)),
                                             _mm256_maddubs_epi16(e1, bcast_i32(an + 4)));
        const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(e2, bcast_i32(an + 8)),
                                             _mm256_maddubs_epi16(e3, bcast_i32(an + 12)));
        isum[n] = _mm256_add_epi32(isum[n], _mm256_add_epi32(_mm256_madd_epi16(s01, sc), _mm256_madd_epi16(s23, sc)));
      }
    };
    auto four_groups = [&](int v) {
      const __m256i sc_v = load_u256(blk + 16 + 32 * v);
      group(std::integral_constant<int, 0>{}, v, sc_v);
      group(std::integral_constant<int, 1>{}, v, sc_v);
      group(std::integral_constant<int, 2>{}, v, sc_v);
      group(std::integral_constant<int, 3>{}, v, sc_v);
    };
    steps<4, N <= 2 ? 4 : 1>(four_groups);
    // The -32 offset: 32 * sum_g sc_g * bsums[g], scales taken in pairs.
    __m256i scp[8];
    for (int v = 0; v < 4; ++v) {
      const __m256i sc_v = load_u256(blk + 16 + 32 * v);
      scp[2 * v] = pair_bytes_i16<0>(sc_v);
      scp[2 * v + 1] = pair_bytes_i16<2>(sc_v);
    }
    const __m256 d = _mm256_cvtph_ps(load_u128(blk));
    for (int n = 0; n < N; ++n) {
      __m256i off = _mm256_setzero_si256();
      for (int p = 0; p < 8; ++p) off = _mm256_add_epi32(off, _mm256_madd_epi16(scp[p], bcast_i32(a[n]->bsums + 2 * p)));
      const __m256i total = _mm256_sub_epi32(isum[n], _mm256_slli_epi32(off, 5));
      const __m256 da = _mm256_set1_ps(a[n]->d);
      acc[n] = _mm256_add_ps(acc[n], _mm256_mul_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(total)));
    }
  }
};


// The loop all K-quant tile kernels share: one f32 sum per activation row
// and weight row (lane), the tile's super-blocks streamed with their
// activation blocks, Fmt::block adding each super-block's terms (forced
// inline: out of line, the sums would go through memory).
template <typename Fmt, int N>
void kquant_x8_rows(int64_t nsb, const uint8_t* tile, const uint8_t* act, size_t stride, float* y, int64_t ldy,
                    bool accumulate) {
  __m256 acc[N];
  for (int n = 0; n < N; ++n) acc[n] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nsb; ++i) {
    const uint8_t* blk = tile + i * Fmt::kTileBlock;
    prefetch_stream<Fmt::kTileBlock>(blk);
    const BlockQ8_K* a[N];
    for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const BlockQ8_K*>(act + n * stride) + i;
    Fmt::template block<N>(blk, a, acc);
  }
  for (int n = 0; n < N; ++n) store_rows8(y + n * ldy, acc[n], accumulate);
}

template <typename Fmt>
void kquant_x8_gemm(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                    size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  for_tiles_and_act_groups<4>(tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy,
                              [&](auto n, const uint8_t* tile, const uint8_t* a, float* out) {
                                kquant_x8_rows<Fmt, decltype(n)::value>(n_in / QK_K, tile, a, act_stride, out, ldy, accumulate);
                              });
}

}  // namespace

void gemm_q2_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  kquant_x8_gemm<Q2K>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q3_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  kquant_x8_gemm<Q3K>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q4_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  kquant_x8_gemm<K4Scaled<Q4KQuants>>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q5_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  kquant_x8_gemm<K4Scaled<Q5KQuants>>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_q6_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  kquant_x8_gemm<Q6K>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

}  // namespace kestrel
