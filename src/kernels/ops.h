// Element-wise and row-wise operations of transformer blocks, in f32.
//
// Each mirrors the arithmetic llama.cpp's CPU backend performs (e.g. RMSNorm
// sums squares in double, RoPE advances theta by repeated multiplication) so
// that logits agree closely with llama.cpp's; they know nothing of models.
#pragma once

#include <cstdint>

namespace kestrel {

// y = x / sqrt(mean(x^2) + eps) * w   (w may be null: no scaling). The
// squares (in float, as ggml) are summed in double over 8 lanes, lane k
// taking the elements i = k mod 8, then combined pairwise: the order the
// AVX2 path can follow without a serial chain of double adds, and the one
// the scalar path follows too, so both give the same bits.
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
void sum_squares_lanes_ref(const float* x, int64_t n, double lanes[8]);

// y[i] = silu(gate[i]) * up[i] = gate / (1 + expf(-gate)) * up. The AVX2
// version (used when use_avx2()) gives the same bits as silu_mul_ref.
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
void silu_mul_ref(const float* gate, const float* up, float* y, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

// dst[i] = f16(x[i]), round to nearest even (F16C when use_avx2(); same
// bits as fp32_to_fp16 for every non-NaN value): writes keys and values
// straight into the f16 KV cache.
void f32_to_f16_row(const float* x, uint16_t* dst, int64_t n);

// Layout of the rotated dimension pairs.
enum class RopeStyle {
  Adjacent,  // (x[2i], x[2i+1]): llama.cpp's "normal" rope (llama, mistral)
  Halves,    // (x[i], x[i + n_rot/2]): NeoX style (qwen2, falcon, ...)
};

struct RopeParams {
  RopeStyle style = RopeStyle::Adjacent;
  int n_rot = 0;                         // rotated dims per head (<= head_dim)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;               // linear position scaling
  const float* freq_factors = nullptr;   // n_rot/2 divisors (Llama-3.1 rope_freqs) or null
};

// Fills cos/sin tables (n_rot/2 entries each) for position `pos`.
void rope_cache(const RopeParams& p, int64_t pos, float* cos_out, float* sin_out);

// Rotates n_heads heads of head_dim floats in place using a rope_cache.
void rope_apply(const RopeParams& p, const float* cos_t, const float* sin_t, float* x,
                int n_heads, int head_dim);

// exp(x) as attention's softmax computes it, in float with a fixed sequence
// of operations that the AVX2 path (exp8_softmax) repeats lane by lane:
// n = round(x * log2(e)), r = x - n * ln2 (in two FMA steps), a degree-7
// Taylor polynomial in r by FMAs, times 2^n; x < -87 gives 0, x > 88 gives
// inf, NaN stays NaN. Within 2 ulp of expf on [-87, 88] (tested), and
// several times cheaper to vectorize than glibc's table-driven expf.
float exp_softmax(float x);

// Numerically stable in-place softmax of n values: e_i = exp_softmax(x_i -
// max), their sum accumulated in double over 16 lanes (lane k takes
// i = k mod 16, in order; the lanes are then added pairwise, k + 8, + 4,
// + 2, + 1), each value times (float)(1 / sum). The AVX2 attention path
// performs the same operations, hence the same bits.
void softmax_inplace(float* x, int64_t n);

}  // namespace kestrel
