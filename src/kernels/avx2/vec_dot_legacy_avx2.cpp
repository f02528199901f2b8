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
// maddubs form when both sides may be -128. The block sum is then scaled and
// accumulated with exactly the oracle's float operations, in block order
// (kernels/ref/vec_dot_ref.h), so results are bit-identical to it.
//
// Speed: the blocks are processed 8 at a time so that the per-block work is
// only the integer dot product; the 8 block sums are transposed into one
// vector, converted once, and scaled by the 8 fp16 scale products gathered
// at once; only the final in-order adds are scalar.
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx2;

// Q5 weights: 4 low bits from the nibbles, bit 4 from the 32-bit qh field.
__m256i unpack_q5(const uint8_t* qs, const uint8_t* qh) {
  const __m256i hi = _mm256_and_si256(expand_bits_32(qh), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(unpack_nibbles_32(qs), hi);
}

// sum over blocks of d_w * d_a * block_sum(w_block, a_block) (8 int32
// partial sums per block), plus m_w * s_a per block when the weight block
// has a min (then the activation block is Q8_1 with its s field). The block
// products are formed 8 at a time in vectors, but added into the scalar sum
// one block at a time, in block order: the canonical order of
// kernels/ref/vec_dot_ref.h, so the result is bit-identical to the oracle.
template <typename WBlock, typename ABlock, typename BlockSum>
float dot_legacy(int n, const WBlock* x, const ABlock* y, BlockSum&& block_sum) {
  constexpr bool kHasMin = requires(const WBlock& b) { b.m; };
  const int nb = n / 32;
  float sum = 0.0f;
  int i = 0;
  alignas(32) float prod[8];
  alignas(32) float mins[8];
  for (; i + 8 <= nb; i += 8) {
    __m256i sums[8];
    for (int k = 0; k < 8; ++k) sums[k] = block_sum(x[i + k], y[i + k]);
    const __m256 d = _mm256_mul_ps(load_halves8<sizeof(WBlock)>(&x[i].d),
                                   load_halves8<sizeof(ABlock)>(&y[i].d));
    _mm256_store_ps(prod, _mm256_mul_ps(d, _mm256_cvtepi32_ps(reduce8_i32(sums))));
    if constexpr (kHasMin) {
      _mm256_store_ps(mins, _mm256_mul_ps(load_halves8<sizeof(WBlock)>(&x[i].m),
                                          load_halves8<sizeof(ABlock)>(&y[i].s)));
      for (int k = 0; k < 8; ++k) {
        sum += prod[k];
        sum += mins[k];
      }
    } else {
      for (int k = 0; k < 8; ++k) sum += prod[k];
    }
  }
  for (; i < nb; ++i) {  // the last nb % 8 blocks
    const float d = half_to_float(x[i].d) * half_to_float(y[i].d);
    sum += d * static_cast<float>(hsum_i32(block_sum(x[i], y[i])));
    if constexpr (kHasMin) sum += half_to_float(x[i].m) * half_to_float(y[i].s);
  }
  return sum;
}

}  // namespace

float vec_dot_q4_0_q8_0_avx2(int n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a),
                    [](const BlockQ4_0& x, const BlockQ8_0& y) {
                      return dot_u8_i8_offset(unpack_nibbles_32(x.qs), load_u256(y.qs), 8);
                    });
}

float vec_dot_q4_1_q8_1_avx2(int n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(a),
                    [](const BlockQ4_1& x, const BlockQ8_1& y) {
                      return sum_i16_pairs(maddubs_pairs(unpack_nibbles_32(x.qs), load_u256(y.qs)));
                    });
}

float vec_dot_q5_0_q8_0_avx2(int n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(a),
                    [](const BlockQ5_0& x, const BlockQ8_0& y) {
                      return dot_u8_i8_offset(unpack_q5(x.qs, x.qh), load_u256(y.qs), 16);
                    });
}

float vec_dot_q5_1_q8_1_avx2(int n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(a),
                    [](const BlockQ5_1& x, const BlockQ8_1& y) {
                      return sum_i16_pairs(maddubs_pairs(unpack_q5(x.qs, x.qh), load_u256(y.qs)));
                    });
}

float vec_dot_q8_0_q8_0_avx2(int n, const void* w, const void* a) {
  return dot_legacy(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a),
                    [](const BlockQ8_0& x, const BlockQ8_0& y) { return dot_i8_i8(x.qs, y.qs); });
}

}  // namespace kestrel
