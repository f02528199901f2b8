// Row (de)quantizers for the K-quants (Q2_K..Q6_K, 256-element super-blocks)
// and the K-quant activation format Q8_K, plus the scale-packing helpers that
// the dequantizers, quantizers and dot kernels share.
//
// Dequantizers reproduce llama.cpp's dequantize_row_* exactly (same products
// in the same order). quantize_row_qX_K(src, dst, n, weights) is the
// reference quantizer when weights is nullptr (llama.cpp's quantize_row_*_ref,
// which is also what llama-quantize uses without an importance matrix) and
// the importance-weighted quantizer otherwise (weights: n floats, one per
// column). quantize_row_q8_K_ref is ggml's activation quantizer: f32
// d = max / -127 where max is the signed value of largest magnitude, levels
// rounded to nearest and clamped to 127, and bsums = sums of 16 levels.
// n is always a multiple of 256.
#pragma once

#include <cstdint>

namespace kestrel {

// ---- Scale packing ---------------------------------------------------------

// Q4_K / Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes. Sub-block
// j < 4 keeps its scale in the low 6 bits of byte j and its min in byte j+4;
// j >= 4 keeps the low 4 bits of both in byte j+4 (scale low nibble, min high
// nibble) and the top 2 bits in bits 6-7 of byte j-4 (scale) and byte j (min).
inline void unpack_scale_min_k4(int j, const uint8_t* packed, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

// Inverse of unpack_scale_min_k4 for all 8 sub-blocks (values 0..63).
void pack_scales_mins_k4(const uint8_t scales[8], const uint8_t mins[8], uint8_t packed[12]);

// Q3_K: 16 six-bit scales stored biased by +32. Scale j takes its low 4 bits
// from byte j (j < 8, low nibble) or byte j-8 (high nibble) and its top 2 bits
// from byte 8 + j%4 at bit 2*(j/4). Returns the unbiased scale (-32..31).
inline int unpack_scale_q3_K(int j, const uint8_t* packed) {
  const int low = j < 8 ? (packed[j] & 0x0F) : (packed[j - 8] >> 4);
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// Inverse of unpack_scale_q3_K: biased values 0..63 for the 16 sub-blocks.
void pack_scales_q3_K(const uint8_t biased[16], uint8_t packed[12]);

// ---- Integer levels ----------------------------------------------------------

// The 256 integer levels of one block in element order, without scales:
// Q2_K 0..3, Q3_K -4..3, Q4_K 0..15, Q5_K 0..31, Q6_K -32..31. Element e
// always belongs to sub-block e/16 (Q2_K, Q3_K, Q6_K) or e/32 (Q4_K, Q5_K).
void unpack_levels_q2_K(const void* block, int8_t levels[256]);
void unpack_levels_q3_K(const void* block, int8_t levels[256]);
void unpack_levels_q4_K(const void* block, int8_t levels[256]);
void unpack_levels_q5_K(const void* block, int8_t levels[256]);
void unpack_levels_q6_K(const void* block, int8_t levels[256]);
// The inverses of the Q2_K, Q3_K, Q5_K and Q6_K unpackers: write the qs
// (Q2_K, levels 0..3), hmask and qs (Q3_K, levels -4..3), qs and qh (Q5_K, levels 0..31) or ql and qh (Q6_K,
// levels -32..31) bytes of a block, scales and d untouched.
void pack_levels_q2_K(const int8_t levels[256], void* block);
void pack_levels_q3_K(const int8_t levels[256], void* block);
void pack_levels_q5_K(const int8_t levels[256], void* block);
void pack_levels_q6_K(const int8_t levels[256], void* block);

// ---- Dequantize ------------------------------------------------------------

void dequantize_row_q2_K(const void* src, float* dst, int64_t n);
void dequantize_row_q3_K(const void* src, float* dst, int64_t n);
void dequantize_row_q4_K(const void* src, float* dst, int64_t n);
void dequantize_row_q5_K(const void* src, float* dst, int64_t n);
void dequantize_row_q6_K(const void* src, float* dst, int64_t n);
void dequantize_row_q8_K(const void* src, float* dst, int64_t n);

// ---- Quantize (quantize_k.cpp) ---------------------------------------------

void quantize_row_q2_K(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q3_K(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q4_K(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q5_K(const float* src, void* dst, int64_t n, const float* weights);
void quantize_row_q6_K(const float* src, void* dst, int64_t n, const float* weights);

void quantize_row_q2_K_ref(const float* src, void* dst, int64_t n);
void quantize_row_q3_K_ref(const float* src, void* dst, int64_t n);
void quantize_row_q4_K_ref(const float* src, void* dst, int64_t n);
void quantize_row_q5_K_ref(const float* src, void* dst, int64_t n);
void quantize_row_q6_K_ref(const float* src, void* dst, int64_t n);
void quantize_row_q8_K_ref(const float* src, void* dst, int64_t n);

}  // namespace kestrel
