// Row conversions for the unquantized element types F32, F16 and BF16.
//
// They have the ToFloatFn / FromFloatFn signatures of type_traits.h. F16 and
// BF16 round to nearest-even (core/half.h), as ggml's reference conversions
// do, so a row converted by kestrel carries the same bits as llama.cpp's.
#pragma once

#include <cstdint>

namespace kestrel {

void convert_row_f32_to_float(const void* src, float* dst, int64_t n);
void convert_row_float_to_f32(const float* src, void* dst, int64_t n);
void convert_row_f16_to_float(const void* src, float* dst, int64_t n);
void convert_row_float_to_f16(const float* src, void* dst, int64_t n);
void convert_row_bf16_to_float(const void* src, float* dst, int64_t n);
void convert_row_float_to_bf16(const float* src, void* dst, int64_t n);

}  // namespace kestrel
