// AVX-512 (F/BW/VL/DQ + VNNI) tile kernels over the packed layouts of
// kernels/packed.h, with the PackedGemmFn signature. They take the 8-row
// tiles two at a time, one tile per 256-bit half of a 512-bit register (16
// rows, one per 32-bit lane), so the layouts and activation formats are
// the AVX2 level's, and an odd last tile goes to the AVX2 kernel. Integer
// block sums use vpdpbusd / vpdpwssd, which are exact, and the per-block
// float steps are the oracle's in its order: results are bit-identical to
// the scalar vec_dot oracles, like the AVX2 kernels'.
//
// Compiled with the avx512 flags: call only when cpu_supports(Isa::Avx512).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kestrel {

void gemm_q4_0x8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q8_0x8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

void gemm_q4_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

void gemm_q5_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);
void gemm_q6_Kx8_avx512(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                        size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate);

}  // namespace kestrel
