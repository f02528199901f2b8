// AVX2 tile kernels over packed (row-interleaved) weights, their activation
// conversions, and the AVX2 element-wise ops of the forward pass.
//
// gemm_<format>_avx2 has the PackedGemmFn signature (kernels/packed.h):
// consecutive 8-row tiles times n_act activation rows. Inside, activation
// rows are taken several at a time (templates on the row count), so each
// weight load and unpack feeds them all, and each SIMD lane holds one weight
// row, so the per-block float steps are the oracle's, in the oracle's order.
//
// Compiled with -mavx2 -mfma -mf16c: call only when cpu_has_avx2(). This
// header is plain C++.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kestrel {

// gemm_legacy_avx2.cpp
void gemm_q4_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q4_1x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q5_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q5_1x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q8_0x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

// gemm_kquants_avx2.cpp
void gemm_q2_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q3_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q4_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q5_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q6_Kx8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

// gemm_f16_avx2.cpp
void gemm_f16x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_bf16x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

// Activation conversions (quantize_q8_avx2.cpp, gemm_f16_avx2.cpp): the
// same bytes as the scalar prepare_*_ref in kernels/packed.cpp.
void prepare_q8_0_sum_avx2(const float* x, void* dst, int64_t n);   // -> ActQ8_0Sum blocks
void prepare_q8_0_wide_avx2(const float* x, void* dst, int64_t n);  // -> ActQ8_0Wide blocks
void prepare_q8_1_float_avx2(const float* x, void* dst, int64_t n);  // -> ActQ8_1F blocks
void prepare_f16_rounded_avx2(const float* x, void* dst, int64_t n);  // f32 rounded through f16
void prepare_bf16_rounded_avx2(const float* x, void* dst, int64_t n);  // f32 rounded through bf16

// Element-wise ops (ops_avx2.cpp), bit-identical to the scalar ones:
// y = expf(x) (glibc's results), and SwiGLU y = silu(gate) * up.
void exp_f32_avx2(const float* x, float* y, int64_t n);
void exp_softmax_avx2(const float* x, float* y, int64_t n);  // y = exp_softmax(x) (kernels/ops.h)
void silu_mul_avx2(const float* gate, const float* up, float* y, int64_t n);
void f32_to_f16_avx2(const float* x, uint16_t* dst, int64_t n);  // round to nearest even
void sum_squares_lanes_avx2(const float* x, int64_t n, double lanes[8]);  // as sum_squares_lanes_ref

}  // namespace kestrel
