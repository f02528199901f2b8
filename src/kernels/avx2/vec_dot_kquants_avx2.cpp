// AVX2 dot products for the K-quants (Q2_K .. Q6_K) against Q8_K activations.
//
// Per 256-element super-block every kernel (1) unpacks the weights into
// unsigned bytes (0..3, 0..7, 0..15, 0..31 or 0..63), (2) multiplies them with
// the signed activations by maddubs (pair sums stay below 2*63*128, exact in
// int16), (3) applies the integer sub-block scales with madd into exact int32
// sums, and (4) folds the parts that do not depend on the weights' quants,
// the mins (Q2_K, Q4_K, Q5_K) and the constant offsets (-4 for Q3_K, -32 for
// Q6_K), through the Q8_K block's bsums (sum of each 16 activations):
//   sum_e sc_g(e) * (q_e - off) * a_e = sum_e sc_g q_e a_e - off * sum_g sc_g bsums_g.
// The super-block's integer sum is exact; only the final d_w * d_a scaling
// (and dmin for the mins) is float, as in the scalar oracle. This relies on
// bsums matching qs, which every Q8_K quantizer guarantees.
//
// Element order (matches ggml): Q2_K/Q3_K hold 2-bit fields of 32 bytes per
// 128 elements, shift 2j giving elements 32j..32j+31; Q3_K's hmask bit
// (4h + j) of byte l is the high bit of element 128h + 32j + l. Q4_K/Q5_K
// hold 32 bytes per 64 elements, low nibbles first; Q5_K's qh bit 2c / 2c+1
// is the fifth bit. Q6_K holds ql/qh as 64/32 bytes per 128 elements.
#include <type_traits>

#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx2;

__m256i mask8(int m) { return _mm256_set1_epi8(static_cast<char>(m)); }

// 8 bytes (two packed uint32) as 8 int16, duplicated into both lanes.
__m256i u8x8_to_i16_dup(uint32_t lo, uint32_t hi) {
  return dup_lanes(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(hi), static_cast<int>(lo))));
}

// Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins packed in 12 bytes.
// Scales/mins 0..3 are the low 6 bits of bytes 0..3 / 4..7; 4..7 take their
// low 4 bits from the nibbles of bytes 8..11 and their top 2 bits from the
// top bits of bytes 0..3 (scales) / 4..7 (mins).
struct ScalesMins {
  __m256i scales;  // 8 int16, duplicated in both lanes
  __m128i mins;    // 8 int16
};

ScalesMins decode_scales_mins_k4(const uint8_t* packed) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof w);
  const uint32_t sc_lo = w[0] & 0x3f3f3f3fu;
  const uint32_t mn_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | (((w[0] >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | (((w[1] >> 6) & 0x03030303u) << 4);
  const __m128i mins =
      _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(mn_hi), static_cast<int>(mn_lo)));
  return {u8x8_to_i16_dup(sc_lo, sc_hi), mins};
}

// sum_j mins[j] * (bsums[2j] + bsums[2j+1]) over the 8 sub-blocks of 32, as
// 4 int32.
__m128i mins_dot_bsums_k4(__m128i mins, const int16_t* bsums) {
  const __m128i pairs = _mm_hadd_epi16(load_u128(bsums), load_u128(bsums + 8));
  return _mm_madd_epi16(pairs, mins);
}

// Sum of the 4 int32 of v.
int32_t hsum_i32_128(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(v);
}

// Q4_K / Q5_K share everything except how the 64 elements of chunk c are
// unpacked; `unpack(c, lo, hi)` fills the unsigned quants of sub-blocks 2c
// and 2c+1 (c is a compile-time constant after inlining).
template <typename Block, typename Unpack>
float dot_k4_family(int n, const Block* x, const BlockQ8_K* y, Unpack&& unpack) {
  float sum = 0.0f;  // canonical per-super-block order (kernels/ref/vec_dot_ref.h)
  for (int i = 0; i < n / QK_K; ++i) {
    const ScalesMins sm = decode_scales_mins_k4(x[i].scales);
    const int8_t* a = y[i].qs;
    __m256i isum = _mm256_setzero_si256();
    auto chunk = [&](auto c_tag) {
      constexpr int c = decltype(c_tag)::value;
      __m256i lo, hi;
      unpack(x[i], c, lo, hi);
      const __m256i p_lo = _mm256_maddubs_epi16(lo, load_u256(a + 64 * c));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, load_u256(a + 64 * c + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_lo, pick_i16<2 * c, 2 * c>(sm.scales)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_hi, pick_i16<2 * c + 1, 2 * c + 1>(sm.scales)));
    };
    chunk(std::integral_constant<int, 0>{});
    chunk(std::integral_constant<int, 1>{});
    chunk(std::integral_constant<int, 2>{});
    chunk(std::integral_constant<int, 3>{});
    sum += (half_to_float(x[i].d) * y[i].d) * static_cast<float>(hsum_i32(isum));
    sum -= (half_to_float(x[i].dmin) * y[i].d) *
           static_cast<float>(hsum_i32_128(mins_dot_bsums_k4(sm.mins, y[i].bsums)));
  }
  return sum;
}

// The 4 chunks of 32 elements of one 128-element half built from 2-bit
// fields: chunk j = (bits >> 2j) & 3 of the 32 bytes at `qs`.
void unpack_2bit_half(const uint8_t* qs, __m256i q[4]) {
  const __m256i v = load_u256(qs);
  q[0] = _mm256_and_si256(v, mask8(3));
  q[1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), mask8(3));
  q[2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(3));
  q[3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), mask8(3));
}

// maddubs of the 4 chunks of a half against its 128 activations.
void maddubs_half(const __m256i q[4], const int8_t* a, __m256i p[4]) {
  for (int k = 0; k < 4; ++k) p[k] = _mm256_maddubs_epi16(q[k], load_u256(a + 32 * k));
}

// 16 int8 group scales -> 8 int16 per half, duplicated in both lanes.
__m256i half_scales_i8(__m128i sc16, int h) {
  return dup_lanes(_mm_cvtepi8_epi16(h == 0 ? sc16 : _mm_srli_si128(sc16, 8)));
}

}  // namespace

float vec_dot_q2_K_q8_K_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0.0f;  // canonical per-super-block order (kernels/ref/vec_dot_ref.h)
  for (int i = 0; i < n / QK_K; ++i) {
    // scales[g]: low nibble = scale of group g, high nibble = its min.
    const __m128i packed = load_u128(x[i].scales);
    const __m128i sc = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F)));
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i q[4], p[4];
      unpack_2bit_half(x[i].qs + 32 * h, q);
      maddubs_half(q, y[i].qs + 128 * h, p);
      isum = _mm256_add_epi32(isum, apply_group_scales_128(p, half_scales_i8(sc, h)));
    }
    const __m256i msum = dot_bsums(mins, y[i].bsums);
    sum += (half_to_float(x[i].d) * y[i].d) * static_cast<float>(hsum_i32(isum));
    sum -= (half_to_float(x[i].dmin) * y[i].d) * static_cast<float>(hsum_i32(msum));
  }
  return sum;
}

float vec_dot_q3_K_q8_K_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0.0f;  // canonical per-super-block order (kernels/ref/vec_dot_ref.h)
  for (int i = 0; i < n / QK_K; ++i) {
    // 16 six-bit scales biased by 32: low 4 bits from the nibbles of bytes
    // 0..7 (scales 0..7 low nibbles, 8..15 high nibbles), top 2 bits from
    // bytes 8..11 at shift 2*(g/4).
    uint32_t s[3];
    std::memcpy(s, x[i].scales, sizeof s);
    const uint32_t lo4 = 0x0f0f0f0fu, hi2 = 0x03030303u;
    const __m128i sc = _mm_sub_epi8(
        _mm_setr_epi32(static_cast<int>((s[0] & lo4) | ((s[2] & hi2) << 4)),
                       static_cast<int>((s[1] & lo4) | (((s[2] >> 2) & hi2) << 4)),
                       static_cast<int>(((s[0] >> 4) & lo4) | (((s[2] >> 4) & hi2) << 4)),
                       static_cast<int>(((s[1] >> 4) & lo4) | (((s[2] >> 6) & hi2) << 4))),
        _mm_set1_epi8(32));
    const __m256i hmask = load_u256(x[i].hmask);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i q[4], p[4];
      unpack_2bit_half(x[i].qs + 32 * h, q);
      // Third bit: hmask bit 4h+j of byte l; q = low2 + 4*hbit in 0..7, the
      // -4 offset is folded through bsums below.
      const __m256i hm = _mm256_srli_epi16(hmask, 4 * h);
      q[0] = _mm256_or_si256(q[0], _mm256_slli_epi16(_mm256_and_si256(hm, mask8(1)), 2));
      q[1] = _mm256_or_si256(q[1], _mm256_slli_epi16(_mm256_and_si256(hm, mask8(2)), 1));
      q[2] = _mm256_or_si256(q[2], _mm256_and_si256(hm, mask8(4)));
      q[3] = _mm256_or_si256(q[3], _mm256_srli_epi16(_mm256_and_si256(hm, mask8(8)), 1));
      maddubs_half(q, y[i].qs + 128 * h, p);
      isum = _mm256_add_epi32(isum, apply_group_scales_128(p, half_scales_i8(sc, h)));
    }
    const __m256i off = dot_bsums(_mm256_cvtepi8_epi16(sc), y[i].bsums);
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 2));
    sum += (half_to_float(x[i].d) * y[i].d) * static_cast<float>(hsum_i32(isum));
  }
  return sum;
}

float vec_dot_q4_K_q8_K_avx2(int n, const void* w, const void* a) {
  return dot_k4_family(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a),
                       [](const BlockQ4_K& b, int c, __m256i& lo, __m256i& hi) {
                         const __m256i v = load_u256(b.qs + 32 * c);
                         lo = _mm256_and_si256(v, mask8(0x0F));
                         hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(0x0F));
                       });
}

float vec_dot_q5_K_q8_K_avx2(int n, const void* w, const void* a) {
  return dot_k4_family(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a),
                       [](const BlockQ5_K& b, int c, __m256i& lo, __m256i& hi) {
                         const __m256i v = load_u256(b.qs + 32 * c);
                         // qh bit 2c (low nibbles) and 2c+1 (high nibbles) of
                         // byte l is bit 4 of element l of each half-chunk.
                         const __m256i hb = _mm256_srli_epi16(load_u256(b.qh), 2 * c);
                         lo = _mm256_or_si256(_mm256_and_si256(v, mask8(0x0F)),
                                              _mm256_slli_epi16(_mm256_and_si256(hb, mask8(1)), 4));
                         hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), mask8(0x0F)),
                                              _mm256_slli_epi16(_mm256_and_si256(hb, mask8(2)), 3));
                       });
}

float vec_dot_q6_K_q8_K_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0.0f;  // canonical per-super-block order (kernels/ref/vec_dot_ref.h)
  for (int i = 0; i < n / QK_K; ++i) {
    const __m128i sc = load_u128(x[i].scales);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      // Elements 128h + 32k + l: low 4 bits from ql (bytes l / l+32, low then
      // high nibbles), top 2 bits from qh[l] bits 2k, 2k+1. Values 0..63;
      // the -32 offset is folded through bsums below.
      const __m256i ql0 = load_u256(x[i].ql + 64 * h);
      const __m256i ql1 = load_u256(x[i].ql + 64 * h + 32);
      const __m256i qh = load_u256(x[i].qh + 32 * h);
      __m256i q[4], p[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, mask8(0x0F)),
                             _mm256_slli_epi16(_mm256_and_si256(qh, mask8(0x03)), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, mask8(0x0F)),
                             _mm256_slli_epi16(_mm256_and_si256(qh, mask8(0x0C)), 2));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), mask8(0x0F)),
                             _mm256_and_si256(qh, mask8(0x30)));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), mask8(0x0F)),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), mask8(0x30)));
      maddubs_half(q, y[i].qs + 128 * h, p);
      isum = _mm256_add_epi32(isum, apply_group_scales_128(p, half_scales_i8(sc, h)));
    }
    const __m256i off = dot_bsums(_mm256_cvtepi8_epi16(sc), y[i].bsums);
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
    sum += (half_to_float(x[i].d) * y[i].d) * static_cast<float>(hsum_i32(isum));
  }
  return sum;
}

}  // namespace kestrel
