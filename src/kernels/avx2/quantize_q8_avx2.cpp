// AVX2 activation quantizers to Q8_0, Q8_1 and Q8_K, bit-identical to the
// reference (scalar) quantizers that llama.cpp uses.
//
// Q8_0 / Q8_1: d = amax / 127 (stored as fp16), q = roundf(x * (1/d)), i.e.
// round half away from zero (NOT the SIMD default half-to-even), and Q8_1
// also stores s = fp16(d * sum(q)).
// Q8_K: the element with the largest |x| (the first one on ties) sets
// iscale = -127 / x_max, q = min(127, round-half-even(iscale * x)), d =
// 1 / iscale (f32), plus the 16 sums of each group of 16 quants.
// Every float operation below is the same IEEE operation, in the same order
// per element, as in the scalar code, so the bytes match exactly, also for
// non-finite inputs (NaNs are ignored by the max and quantize to 0; an
// infinity makes the block's scale infinite as in the reference).
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace kestrel {
namespace {

using namespace avx2;

__m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// roundf() for 8 floats |v| < 2^22 (x * (1/d) is within a few ulp of 127
// at most), converted to int32: trunc(|v| + c) with the sign of v, where
// c = 0.49999997f (0.5 - 2^-25) instead of 0.5. With 0.5, the one input
// 0.49999997f would round up: |v| + 0.5 = 1 - 2^-25 is a tie that goes to
// 1. With c, every sum whose exact value lies below the next integer rounds
// below it (an exact half n + 0.5 still reaches n + 1, for n = 0 by the tie
// 1 - 2^-25 -> 1). Checked once on every float of [0, 128] against roundf;
// the tests take every 61st float of [0, 127] and each half with its neighbours.
// NaN lanes (x NaN, or inf * 0) give 0 as in the reference: max returns
// its second operand, 0, when the first is NaN.
__m256i round_half_away_i32(__m256 v) {
  const __m256 mag = _mm256_add_ps(abs_ps(v), _mm256_set1_ps(0.49999997f));
  const __m256i q = _mm256_cvttps_epi32(_mm256_max_ps(mag, _mm256_setzero_ps()));
  return _mm256_sign_epi32(q, _mm256_castps_si256(v));  // -q where v < 0; q is 0 where v is +-0
}

// NaN lanes -> 0, as the reference gives for NaN inputs (and for inf * 0
// when a block holds an infinity).
__m256 zero_nans(__m256 v) { return _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }

// 32 int32 (in element order across v[0..3]) -> 32 saturated int8 in order.
__m256i pack_i32_to_i8(const __m256i (&v)[4]) {
  const __m256i p01 = _mm256_packs_epi32(v[0], v[1]);
  const __m256i p23 = _mm256_packs_epi32(v[2], v[3]);
  const __m256i p = _mm256_packs_epi16(p01, p23);
  // The packs work per 128-bit lane; put the 4-byte groups back in order.
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

float hmax_f32(__m256 m) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// max |x| over 32 floats, ignoring NaNs like the reference's fmax: maxps
// returns its second operand when the first is NaN, and m starts at 0.
float max_abs_32(const float* x) {
  __m256 m = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 8 * k)), m);
  return hmax_f32(m);
}

uint16_t float_to_half(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// Shared body of Q8_0 and Q8_1: writes d and qs for one 32-element block and
// returns sum(q) together with the float d.
struct Q8Block {
  float d;
  int32_t sum;
};

Q8Block quantize_block_32(const float* x, uint16_t* d_out, int8_t* qs) {
  const float amax = max_abs_32(x);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *d_out = float_to_half(d);
  const __m256 vid = _mm256_set1_ps(id);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    q[k] = round_half_away_i32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32_to_i8(q));
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
  return {d, hsum_i32(s)};
}

// Index of the first element of x[0..256) whose |x| equals amax.
int first_index_of_abs(const float* x, float amax) {
  const __m256 target = _mm256_set1_ps(amax);
  for (int j = 0; j < QK_K; j += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + j)), target, _CMP_EQ_OQ));
    if (mask) return j + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return 0;
}

// 16 group sums of 16 quants: 32 bytes hold groups 2c (low lane) and 2c+1.
void group_sums_q8_K(const int8_t* qs, int16_t* bsums) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  for (int h = 0; h < 2; ++h) {
    __m256i s[4];  // chunk k: int32 partial sums of groups 8h+2k (low lane) and 8h+2k+1
    for (int k = 0; k < 4; ++k) {
      s[k] = sum_i16_pairs(_mm256_maddubs_epi16(ones8, load_u256(qs + 128 * h + 32 * k)));
    }
    // After two hadds the low lane holds groups 0,2,4,6 and the high lane
    // 1,3,5,7 (relative to 8h); the permute interleaves them back.
    const __m256i u = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
    const __m256i g = _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    const __m128i g16 = _mm_packs_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(bsums + 8 * h), g16);
  }
}

}  // namespace

void quantize_row_q8_0_avx2(const float* x, void* y, int64_t n) {
  auto* out = static_cast<BlockQ8_0*>(y);
  for (int64_t i = 0; i < n / QK8_0; ++i) quantize_block_32(x + i * QK8_0, &out[i].d, out[i].qs);
}

void quantize_row_q8_1_avx2(const float* x, void* y, int64_t n) {
  auto* out = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const Q8Block b = quantize_block_32(x + i * QK8_1, &out[i].d, out[i].qs);
    out[i].s = float_to_half(static_cast<float>(b.sum) * b.d);
  }
}

// The packed kernels' activation blocks: the same Q8_0 quants and scale,
// with the scale converted to f32 and either the quant sum added (for the
// Q4_0 offset) or the quants widened to int16; Q8_1's with d and s in f32.
void prepare_q8_0_sum_avx2(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_0Sum*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    uint16_t d;
    const Q8Block b = quantize_block_32(x + i * QK8_0, &d, out[i].qs);
    out[i].d = half_to_float(d);
    out[i].sum8 = 8 * b.sum;
  }
}

void prepare_q8_1_float_avx2(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_1F*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    uint16_t d;
    const Q8Block b = quantize_block_32(x + i * QK8_1, &d, out[i].qs);
    out[i].d = half_to_float(d);
    out[i].s = half_to_float(float_to_half(static_cast<float>(b.sum) * b.d));
  }
}

void prepare_q8_0_wide_avx2(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_0Wide*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    uint16_t d;
    alignas(32) int8_t qs[QK8_0];
    quantize_block_32(x + i * QK8_0, &d, qs);
    out[i].d = half_to_float(d);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[i].qs), _mm256_cvtepi8_epi16(load_u128(qs)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[i].qs + 16), _mm256_cvtepi8_epi16(load_u128(qs + 16)));
  }
}

void quantize_row_q8_K_avx2(const float* x, void* y, int64_t n) {
  auto* out = static_cast<BlockQ8_K*>(y);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    BlockQ8_K& b = out[i];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + j)), m);
    const float amax = hmax_f32(m);
    if (amax == 0.0f) {
      std::memset(&b, 0, sizeof b);
      continue;
    }
    const float iscale = -127.0f / x[first_index_of_abs(x, amax)];
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int c = 0; c < QK_K / 32; ++c) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        // cvtps rounds half to even under the default MXCSR mode, like the
        // reference's add-1.5*2^23 trick.
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * c + 8 * k), vs);
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(zero_nans(v)), cap);
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b.qs + 32 * c), pack_i32_to_i8(q));
    }
    group_sums_q8_K(b.qs, b.bsums);
    b.d = 1.0f / iscale;
  }
}

}  // namespace kestrel
