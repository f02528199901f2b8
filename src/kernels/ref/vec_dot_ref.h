// Scalar dot-product oracles, one per (weight type, activation type) pair.
//
// vec_dot_<w>_<a>_ref(n, w, a) returns sum_i w[i] * a[i] over n elements
// (a multiple of the block size) of a weight row in format <w> and an
// activation row in format <a>: exact integer dot products per block (or
// super-block), then the block scales.
//
// Canonical accumulation order (quantized formats). Every fast kernel, for
// any ISA or tiling, must reproduce these float operations exactly, in block
// order, so its result is bit-identical to the oracle:
//   legacy:   sum += (dw * da) * (float)isum;   then, for Q4_1/Q5_1,
//             sum += mw * sa;
//   K-quants: sum += (dw * da) * (float)isum;   then, for Q2_K/Q4_K/Q5_K,
//             sum -= (dmin * da) * (float)mins_dot;
// (fp16 scales converted exactly; no fused multiply-add: the project builds
// with -ffp-contract=off.) Why: random-weight and real models amplify a
// last-bit difference whenever it flips a later Q8 or f16 rounding, so
// engines that differ by summation order disagree visibly; with a fixed order
// the AVX2 path, the scalar path and any thread count give identical logits.
//
// The float kernels (f16/bf16/f32) accumulate in double, like ggml's generic
// ggml_vec_dot_f16 (its ggml_float is double); their fast versions differ by
// float rounding only. These are the references the AVX2 kernels are tested
// against and the fallback on CPUs without AVX2.
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
