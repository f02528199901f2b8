// Whole-row quantization with optional importance weights (the entry point
// for `kestrel quantize`, including a future --imatrix).
//
// quantize_row_with_importance(type, src, dst, n, imp) quantizes one row of n
// floats into `type`. imp, when not null, holds n per-column importance
// values (llama.cpp's imatrix: mean squared activation per input column);
// the quantizer then minimises the importance-weighted error. With imp null
// the result is exactly type_traits(type).from_float (llama.cpp's reference
// quantizer). Types without a weighted search (F32, F16, BF16, Q8_0, and the
// activation formats) ignore imp. Throws kestrel::Error for an unknown type
// or an n that is not a positive multiple of the block size.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace kestrel {

void quantize_row_with_importance(DType type, const float* src, void* dst, int64_t n,
                                  const float* imp);

}  // namespace kestrel
