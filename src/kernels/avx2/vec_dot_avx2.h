// AVX2/FMA/F16C dot products and activation quantizers (the decode hot path).
//
// Every vec_dot_<w>_<a>_avx2(n, w, a) returns sum_i w[i] * a[i] for n
// elements of weight type <w> against activations of type <a>, with the same
// meaning and block layouts as the scalar oracles vec_dot_<w>_<a>_ref: the
// integer sum inside every block is exact (no int16 saturation for any valid
// block bytes), so results differ from the oracle only by float rounding of
// the per-block scaling and the final accumulation. n must be a multiple of
// the weight type's block size (any n for f16/bf16/f32).
//
// The quantize_row_q8_*_avx2(x, y, n) functions produce output bit-identical
// to the reference quantizers (same scale, same rounding), n a multiple of
// the block size.
//
// The definitions are compiled with -mavx2 -mfma -mf16c: call them only when
// kestrel::cpu_has_avx2() is true (vec_dot_for() does this for you). This
// header itself is plain C++ and may be included anywhere.
#pragma once

#include <cstdint>

namespace kestrel {

// Legacy 32-element blocks (vec_dot_legacy_avx2.cpp).
float vec_dot_q4_0_q8_0_avx2(int n, const void* w, const void* a);
float vec_dot_q4_1_q8_1_avx2(int n, const void* w, const void* a);
float vec_dot_q5_0_q8_0_avx2(int n, const void* w, const void* a);
float vec_dot_q5_1_q8_1_avx2(int n, const void* w, const void* a);
float vec_dot_q8_0_q8_0_avx2(int n, const void* w, const void* a);

// K-quants, 256-element super-blocks against Q8_K (vec_dot_kquants_avx2.cpp).
float vec_dot_q2_K_q8_K_avx2(int n, const void* w, const void* a);
float vec_dot_q3_K_q8_K_avx2(int n, const void* w, const void* a);
float vec_dot_q4_K_q8_K_avx2(int n, const void* w, const void* a);
float vec_dot_q5_K_q8_K_avx2(int n, const void* w, const void* a);
float vec_dot_q6_K_q8_K_avx2(int n, const void* w, const void* a);

// Plain floating-point rows (vec_dot_float_avx2.cpp).
float vec_dot_f16_f16_avx2(int n, const void* w, const void* a);
float vec_dot_bf16_bf16_avx2(int n, const void* w, const void* a);
float vec_dot_f32_f32_avx2(int n, const void* w, const void* a);

// Activation quantizers, bit-identical to the reference ones
// (quantize_q8_avx2.cpp). Same signature as TypeTraits::from_float.
void quantize_row_q8_0_avx2(const float* x, void* y, int64_t n);
void quantize_row_q8_1_avx2(const float* x, void* y, int64_t n);
void quantize_row_q8_K_avx2(const float* x, void* y, int64_t n);

}  // namespace kestrel
