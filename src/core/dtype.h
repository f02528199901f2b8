// Tensor element types, numbered exactly as ggml numbers them in GGUF files.
//
// The numeric values are part of the on-disk contract (a GGUF tensor-info
// record stores them), so they must never be renumbered. Per-type facts
// (block size, byte size, kernels) live in one table: quant/type_traits.h.
#pragma once

#include <cstdint>

namespace kestrel {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

}  // namespace kestrel
