// Row (de)quantizers for the 32-element "legacy" formats: Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0 and the activation format Q8_1.
//
// dequantize_row_* and quantize_row_*_ref have the ToFloatFn / FromFloatFn
// signatures of type_traits.h. The *_ref quantizers reproduce llama.cpp's
// quantize_row_*_ref bit for bit (GGUF files written by either tool agree).
// quantize_row_q{4,5}_{0,1} additionally take per-element importance weights
// (n floats, one per column of the row; nullptr means none, which is exactly
// the _ref result); with weights they run a weighted scale search in the
// manner of llama.cpp's imatrix path. n is always a multiple of 32.
#pragma once

#include <cstdint>

namespace kestrel {

// The 32 integer levels of one block in element order, without scales:
// Q4_0 -8..7, Q4_1 0..15, Q5_0 -16..15, Q5_1 0..31 (x = d*l, resp. d*l + m).
void unpack_levels_q4_0(const void* block, int8_t levels[32]);
void unpack_levels_q4_1(const void* block, int8_t levels[32]);
void unpack_levels_q5_0(const void* block, int8_t levels[32]);
void unpack_levels_q5_1(const void* block, int8_t levels[32]);

// Writes the qs nibbles and qh bits of a Q5_0/Q5_1 block from its 32
// values 0..31 (level + 16 for Q5_0, the level for Q5_1).
void pack_values_q5(const uint8_t values[32], uint8_t qs[16], uint8_t qh[4]);

void dequantize_row_q4_0(const void* src, float* dst, int64_t n);
void dequantize_row_q4_1(const void* src, float* dst, int64_t n);
void dequantize_row_q5_0(const void* src, float* dst, int64_t n);
void dequantize_row_q5_1(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* dst, int64_t n);
void dequantize_row_q8_1(const void* src, float* dst, int64_t n);

void quantize_row_q4_0(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q4_1(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q5_0(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q5_1(const float* src, void* dst, int64_t n, const float* weights);

void quantize_row_q4_0_ref(const float* src, void* dst, int64_t n);
void quantize_row_q4_1_ref(const float* src, void* dst, int64_t n);
void quantize_row_q5_0_ref(const float* src, void* dst, int64_t n);
void quantize_row_q5_1_ref(const float* src, void* dst, int64_t n);
// Q8_0 has no weighted variant: with 255 levels the plain max scale is already
// what llama.cpp stores whether or not an importance matrix is given.
void quantize_row_q8_0_ref(const float* src, void* dst, int64_t n);
// Activation quantizer for Q4_1/Q5_1 dot products (also stores s = d*sum(q)).
void quantize_row_q8_1_ref(const float* src, void* dst, int64_t n);

}  // namespace kestrel
