// Block geometry table for the tensor types kestrel reads from GGUF files.
//
// Sizes are ggml's (ggml-common.h block structs); see gguf_type_sizes.h for
// why this lives here and not only in quant/type_traits.
#include "gguf/gguf_type_sizes.h"

#include <array>

namespace kestrel::gguf {

namespace {

constexpr std::array<TypeSize, 15> kTypeSizes = {{
    {DType::F32, "f32", 1, 4},
    {DType::F16, "f16", 1, 2},
    {DType::Q4_0, "q4_0", 32, 18},
    {DType::Q4_1, "q4_1", 32, 20},
    {DType::Q5_0, "q5_0", 32, 22},
    {DType::Q5_1, "q5_1", 32, 24},
    {DType::Q8_0, "q8_0", 32, 34},
    {DType::Q8_1, "q8_1", 32, 36},
    {DType::Q2_K, "q2_K", 256, 84},
    {DType::Q3_K, "q3_K", 256, 110},
    {DType::Q4_K, "q4_K", 256, 144},
    {DType::Q5_K, "q5_K", 256, 176},
    {DType::Q6_K, "q6_K", 256, 210},
    {DType::Q8_K, "q8_K", 256, 292},
    {DType::BF16, "bf16", 1, 2},
}};

struct NamedId {
  uint32_t id;
  std::string_view name;
};

// Types ggml defines that kestrel has no kernels for (named in errors only).
constexpr std::array<NamedId, 19> kUnsupported = {{
    {16, "iq2_xxs"}, {17, "iq2_xs"}, {18, "iq3_xxs"}, {19, "iq1_s"},  {20, "iq4_nl"},
    {21, "iq3_s"},   {22, "iq2_s"},  {23, "iq4_xs"},  {24, "i8"},     {25, "i16"},
    {26, "i32"},     {27, "i64"},    {28, "f64"},     {29, "iq1_m"},  {34, "tq1_0"},
    {35, "tq2_0"},   {39, "mxfp4"},  {40, "nvfp4"},   {41, "q1_0"},
}};

}  // namespace

const TypeSize* find_type_size(uint32_t type_id) {
  for (const TypeSize& ts : kTypeSizes) {
    if (static_cast<uint32_t>(ts.type) == type_id) return &ts;
  }
  return nullptr;
}

std::string_view unsupported_type_name(uint32_t type_id) {
  for (const NamedId& n : kUnsupported) {
    if (n.id == type_id) return n.name;
  }
  return {};
}

std::optional<uint64_t> tensor_nbytes(const TypeSize& ts, int64_t n_elements) {
  if (n_elements < 0) return std::nullopt;
  const uint64_t blocks = static_cast<uint64_t>(n_elements / ts.block_size);
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, ts.block_bytes, &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace kestrel::gguf
