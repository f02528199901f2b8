// The one table that describes every tensor element type kestrel knows.
//
// Adding a type means adding one row to kTypeTraits (type_traits.cpp) plus
// the files holding its block struct, (de)quantizer and dot kernels. Nothing
// else in the engine switches on DType: matrix products, loaders, `inspect`
// and `quantize` all go through this table.
//
// Conventions shared by every row:
//  - n (element count) is always a multiple of block_size;
//  - to_float / from_float convert whole rows (from_float is the reference
//    quantizer: round-to-nearest with llama.cpp's scale choice);
//  - vec_dot(n, w, a) returns sum_i w[i] * a[i] where w is n elements of this
//    type and a is n elements of `vec_dot_type` (the activation format the
//    matrix-product quantizes its input rows to: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1
//    for Q4_1/Q5_1, Q8_K for the K-quants, F16 for F16, BF16 for BF16, F32 for
//    F32). vec_dot_ref is the scalar oracle, vec_dot_avx2 the fast path (null
//    when there is none); pick with vec_dot_for();
//  - from_float_avx2 is a fast quantizer whose bytes equal from_float's
//    (only the activation formats Q8_0/Q8_1/Q8_K have one); pick with
//    from_float_for().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/dtype.h"

namespace kestrel {

using ToFloatFn = void (*)(const void* src, float* dst, int64_t n);
using FromFloatFn = void (*)(const float* src, void* dst, int64_t n);
using VecDotFn = float (*)(int n, const void* w, const void* a);

struct TypeTraits {
  DType type;
  std::string_view name;    // as llama.cpp prints it: "q4_0", "q4_K", "f16", ...
  int block_size;           // elements per block
  size_t block_bytes;       // bytes per block
  bool is_quantized;
  DType vec_dot_type;       // activation format for vec_dot
  ToFloatFn to_float;       // dequantize a row
  FromFloatFn from_float;   // reference quantize a row
  VecDotFn vec_dot_ref;     // scalar oracle
  VecDotFn vec_dot_avx2;    // AVX2/FMA path or nullptr
  FromFloatFn from_float_avx2 = nullptr;  // bit-identical AVX2 quantizer or nullptr
};

// Every row, in table order.
std::span<const TypeTraits> all_type_traits();

// The row for `t`, or nullptr if kestrel does not know the type.
const TypeTraits* find_type_traits(DType t);

// The row for `t`; throws kestrel::Error naming the type id if unknown.
const TypeTraits& type_traits(DType t);

// Looks a type up by name, case-insensitively ("Q4_K" == "q4_k").
const TypeTraits* find_type_traits(std::string_view name);

// The vec_dot to use on this CPU (AVX2 when available and not forced off).
VecDotFn vec_dot_for(const TypeTraits& tt);

// The row quantizer to use on this CPU; same bytes as tt.from_float.
FromFloatFn from_float_for(const TypeTraits& tt);

// Bytes taken by one row of n elements (n must be a multiple of block_size).
inline size_t row_bytes(const TypeTraits& tt, int64_t n) {
  return static_cast<size_t>(n / tt.block_size) * tt.block_bytes;
}

}  // namespace kestrel
