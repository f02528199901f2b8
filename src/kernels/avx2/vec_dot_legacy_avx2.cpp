// AVX2 dot products for the legacy 32-element formats (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0) against Q8_0 / Q8_1 activations.
//
// Each block's integer dot product is computed exactly: the weights are
// unpacked to unsigned bytes (0..15 or 0..31), multiplied with the signed
// activations by _mm256_maddubs_epi16 (pair sums stay far inside int16), and
// the format's offset (-8 for Q4_0, -16 for Q5_0) is folded in as a second
// maddubs of the offset against the activations, so no sign trick is needed
// and -128 activations are handled exactly. Q8_0 x Q8_0 widens both operands
// to int16 instead, because a signed x signed byte product has no exact
// maddubs form when both sides may be -128. The block sum is then scaled in
// float like the scalar oracle does: d_w * d_a * sum (+ m_w * s_a for the
// Q8_1 formats, whose activation block carries s = d_a * sum(q_a)).
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx2;

// Accumulator for the formats with a min: vector part for d*sum, scalar
// part for m*s.
struct MinAcc {
  __m256 v = _mm256_setzero_ps();
  float m = 0.0f;
};

float finish(const MinAcc (&acc)[4]) {
  const __m256 v = add4({acc[0].v, acc[1].v, acc[2].v, acc[3].v});
  return hsum_f32(v) + ((acc[0].m + acc[1].m) + (acc[2].m + acc[3].m));
}

// Q5 weights: 4 low bits from the nibbles, bit 4 from the 32-bit qh field.
__m256i unpack_q5(const uint8_t* qs, const uint8_t* qh) {
  const __m256i hi = _mm256_and_si256(expand_bits_32(qh), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(unpack_nibbles_32(qs), hi);
}

// acc += d * float(sums)
inline void scale_add(__m256& acc, float d, __m256i sums) {
  acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sums), acc);
}

}  // namespace

float vec_dot_q4_0_q8_0_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for_blocks_4way(n / QK4_0, acc, [&](int i, __m256& s) {
    const __m256i sums = dot_u8_i8_offset(unpack_nibbles_32(x[i].qs), load_u256(y[i].qs), 8);
    scale_add(s, half_to_float(x[i].d) * half_to_float(y[i].d), sums);
  });
  return hsum_f32(add4(acc));
}

float vec_dot_q4_1_q8_1_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  MinAcc acc[4];
  for_blocks_4way(n / QK4_1, acc, [&](int i, MinAcc& s) {
    const __m256i sums = sum_i16_pairs(maddubs_pairs(unpack_nibbles_32(x[i].qs), load_u256(y[i].qs)));
    scale_add(s.v, half_to_float(x[i].d) * half_to_float(y[i].d), sums);
    s.m += half_to_float(x[i].m) * half_to_float(y[i].s);
  });
  return finish(acc);
}

float vec_dot_q5_0_q8_0_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for_blocks_4way(n / QK5_0, acc, [&](int i, __m256& s) {
    const __m256i sums = dot_u8_i8_offset(unpack_q5(x[i].qs, x[i].qh), load_u256(y[i].qs), 16);
    scale_add(s, half_to_float(x[i].d) * half_to_float(y[i].d), sums);
  });
  return hsum_f32(add4(acc));
}

float vec_dot_q5_1_q8_1_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  MinAcc acc[4];
  for_blocks_4way(n / QK5_1, acc, [&](int i, MinAcc& s) {
    const __m256i sums =
        sum_i16_pairs(maddubs_pairs(unpack_q5(x[i].qs, x[i].qh), load_u256(y[i].qs)));
    scale_add(s.v, half_to_float(x[i].d) * half_to_float(y[i].d), sums);
    s.m += half_to_float(x[i].m) * half_to_float(y[i].s);
  });
  return finish(acc);
}

float vec_dot_q8_0_q8_0_avx2(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for_blocks_4way(n / QK8_0, acc, [&](int i, __m256& s) {
    scale_add(s, half_to_float(x[i].d) * half_to_float(y[i].d), dot_i8_i8(x[i].qs, y[i].qs));
  });
  return hsum_f32(add4(acc));
}

}  // namespace kestrel
