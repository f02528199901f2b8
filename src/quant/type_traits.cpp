// The type table (kTypeTraits) and its lookups; see type_traits.h.
//
// The vec_dot_avx2 column is filled in by the AVX2 kernels (src/kernels/avx2);
// a nullptr there means "use the scalar oracle". Q8_1 and Q8_K exist only as
// activation formats, so they have no dot product of their own.
#include "quant/type_traits.h"

#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "kernels/ref/vec_dot_ref.h"
#include "quant/blocks.h"
#include "quant/quants_float.h"
#include "quant/quants_k.h"
#include "quant/quants_legacy.h"

namespace kestrel {
namespace {

constexpr TypeTraits kTypeTraits[] = {
    {DType::F32, "f32", 1, sizeof(float), false, DType::F32, convert_row_f32_to_float,
     convert_row_float_to_f32, vec_dot_f32_f32_ref, vec_dot_f32_f32_avx2},
    {DType::F16, "f16", 1, sizeof(uint16_t), false, DType::F16, convert_row_f16_to_float,
     convert_row_float_to_f16, vec_dot_f16_f16_ref, vec_dot_f16_f16_avx2},
    {DType::BF16, "bf16", 1, sizeof(uint16_t), false, DType::BF16, convert_row_bf16_to_float,
     convert_row_float_to_bf16, vec_dot_bf16_bf16_ref, vec_dot_bf16_bf16_avx2},
    {DType::Q4_0, "q4_0", QK4_0, sizeof(BlockQ4_0), true, DType::Q8_0, dequantize_row_q4_0,
     quantize_row_q4_0_ref, vec_dot_q4_0_q8_0_ref, vec_dot_q4_0_q8_0_avx2},
    {DType::Q4_1, "q4_1", QK4_1, sizeof(BlockQ4_1), true, DType::Q8_1, dequantize_row_q4_1,
     quantize_row_q4_1_ref, vec_dot_q4_1_q8_1_ref, vec_dot_q4_1_q8_1_avx2},
    {DType::Q5_0, "q5_0", QK5_0, sizeof(BlockQ5_0), true, DType::Q8_0, dequantize_row_q5_0,
     quantize_row_q5_0_ref, vec_dot_q5_0_q8_0_ref, vec_dot_q5_0_q8_0_avx2},
    {DType::Q5_1, "q5_1", QK5_1, sizeof(BlockQ5_1), true, DType::Q8_1, dequantize_row_q5_1,
     quantize_row_q5_1_ref, vec_dot_q5_1_q8_1_ref, vec_dot_q5_1_q8_1_avx2},
    {DType::Q8_0, "q8_0", QK8_0, sizeof(BlockQ8_0), true, DType::Q8_0, dequantize_row_q8_0,
     quantize_row_q8_0_ref, vec_dot_q8_0_q8_0_ref, vec_dot_q8_0_q8_0_avx2, quantize_row_q8_0_avx2},
    {DType::Q8_1, "q8_1", QK8_1, sizeof(BlockQ8_1), true, DType::Q8_1, dequantize_row_q8_1,
     quantize_row_q8_1_ref, nullptr, nullptr, quantize_row_q8_1_avx2},
    {DType::Q2_K, "q2_K", QK_K, sizeof(BlockQ2_K), true, DType::Q8_K, dequantize_row_q2_K,
     quantize_row_q2_K_ref, vec_dot_q2_K_q8_K_ref, vec_dot_q2_K_q8_K_avx2},
    {DType::Q3_K, "q3_K", QK_K, sizeof(BlockQ3_K), true, DType::Q8_K, dequantize_row_q3_K,
     quantize_row_q3_K_ref, vec_dot_q3_K_q8_K_ref, vec_dot_q3_K_q8_K_avx2},
    {DType::Q4_K, "q4_K", QK_K, sizeof(BlockQ4_K), true, DType::Q8_K, dequantize_row_q4_K,
     quantize_row_q4_K_ref, vec_dot_q4_K_q8_K_ref, vec_dot_q4_K_q8_K_avx2},
    {DType::Q5_K, "q5_K", QK_K, sizeof(BlockQ5_K), true, DType::Q8_K, dequantize_row_q5_K,
     quantize_row_q5_K_ref, vec_dot_q5_K_q8_K_ref, vec_dot_q5_K_q8_K_avx2},
    {DType::Q6_K, "q6_K", QK_K, sizeof(BlockQ6_K), true, DType::Q8_K, dequantize_row_q6_K,
     quantize_row_q6_K_ref, vec_dot_q6_K_q8_K_ref, vec_dot_q6_K_q8_K_avx2},
    {DType::Q8_K, "q8_K", QK_K, sizeof(BlockQ8_K), true, DType::Q8_K, dequantize_row_q8_K,
     quantize_row_q8_K_ref, nullptr, nullptr, quantize_row_q8_K_avx2},
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::span<const TypeTraits> all_type_traits() { return kTypeTraits; }

const TypeTraits* find_type_traits(DType t) {
  for (const TypeTraits& tt : kTypeTraits) {
    if (tt.type == t) return &tt;
  }
  return nullptr;
}

const TypeTraits& type_traits(DType t) {
  if (const TypeTraits* tt = find_type_traits(t)) return *tt;
  throw Error("unsupported tensor type id " + std::to_string(static_cast<uint32_t>(t)) +
              " (kestrel knows f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K..q6_K)");
}

const TypeTraits* find_type_traits(std::string_view name) {
  for (const TypeTraits& tt : kTypeTraits) {
    if (equals_ignore_case(tt.name, name)) return &tt;
  }
  return nullptr;
}

VecDotFn vec_dot_for(const TypeTraits& tt) {
  if (tt.vec_dot_avx2 && use_avx2()) return tt.vec_dot_avx2;
  return tt.vec_dot_ref;
}

FromFloatFn from_float_for(const TypeTraits& tt) {
  if (tt.from_float_avx2 && use_avx2()) return tt.from_float_avx2;
  return tt.from_float;
}

}  // namespace kestrel
