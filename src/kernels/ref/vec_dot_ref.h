// Scalar dot-product oracles, one per (weight type, activation type) pair.
//
// vec_dot_<w>_<a>_ref(n, w, a) returns sum_i w[i] * a[i] over n elements
// (a multiple of the block size) of a weight row in format <w> and an
// activation row in format <a>. They compute what ggml's generic (non-SIMD)
// kernels compute: exact integer dot products per block (or sub-block),
// scaled by the fp16/f32 block scales in the same order and accumulated in
// f32 across blocks; the asymmetric formats add their offsets the same way
// (Q4_1/Q5_1: + m * s per block; K-quants: - dmin * sum(min * bsum)). The
// float kernels accumulate in double, like ggml's generic ggml_vec_dot_f16
// (its ggml_float is double). These are the references the AVX2 kernels are
// tested against and the fallback on CPUs without AVX2.
#pragma once

namespace kestrel {

float vec_dot_q4_0_q8_0_ref(int n, const void* w, const void* a);
float vec_dot_q4_1_q8_1_ref(int n, const void* w, const void* a);
float vec_dot_q5_0_q8_0_ref(int n, const void* w, const void* a);
float vec_dot_q5_1_q8_1_ref(int n, const void* w, const void* a);
float vec_dot_q8_0_q8_0_ref(int n, const void* w, const void* a);

float vec_dot_q2_K_q8_K_ref(int n, const void* w, const void* a);
float vec_dot_q3_K_q8_K_ref(int n, const void* w, const void* a);
float vec_dot_q4_K_q8_K_ref(int n, const void* w, const void* a);
float vec_dot_q5_K_q8_K_ref(int n, const void* w, const void* a);
float vec_dot_q6_K_q8_K_ref(int n, const void* w, const void* a);

float vec_dot_f16_f16_ref(int n, const void* w, const void* a);
float vec_dot_bf16_bf16_ref(int n, const void* w, const void* a);
float vec_dot_f32_f32_ref(int n, const void* w, const void* a);

}  // namespace kestrel
