// Block geometry table for the tensor types kestrel reads from GGUF files.
//
// Sizes come from quant/type_traits; this file only adds the names of the
// ggml types kestrel cannot read.
#include "gguf/gguf_type_sizes.h"

#include <array>

namespace kestrel::gguf {

namespace {

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

const TypeSize* find_type_size(uint32_t type_id) { return find_type_traits(static_cast<DType>(type_id)); }

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
