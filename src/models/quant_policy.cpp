// llama.cpp-compatible per-tensor type choice (quant_policy.h).
#include "models/quant_policy.h"

#include <array>
#include <cctype>

#include "quant/type_traits.h"

namespace kestrel {
namespace {

constexpr std::array<FileTypeInfo, 18> kFileTypes{{
    {FileType::F32, "F32", DType::F32},        {FileType::F16, "F16", DType::F16},
    {FileType::BF16, "BF16", DType::BF16},     {FileType::Q4_0, "Q4_0", DType::Q4_0},
    {FileType::Q4_1, "Q4_1", DType::Q4_1},     {FileType::Q5_0, "Q5_0", DType::Q5_0},
    {FileType::Q5_1, "Q5_1", DType::Q5_1},     {FileType::Q8_0, "Q8_0", DType::Q8_0},
    {FileType::Q2_K, "Q2_K", DType::Q2_K},     {FileType::Q2_K_S, "Q2_K_S", DType::Q2_K},
    {FileType::Q3_K_S, "Q3_K_S", DType::Q3_K}, {FileType::Q3_K_M, "Q3_K_M", DType::Q3_K},
    {FileType::Q3_K_L, "Q3_K_L", DType::Q3_K}, {FileType::Q4_K_S, "Q4_K_S", DType::Q4_K},
    {FileType::Q4_K_M, "Q4_K_M", DType::Q4_K}, {FileType::Q5_K_S, "Q5_K_S", DType::Q5_K},
    {FileType::Q5_K_M, "Q5_K_M", DType::Q5_K}, {FileType::Q6_K, "Q6_K", DType::Q6_K},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// llama.cpp's layer selector for the extra-precision layers of _M mixes:
// the first and last eighth, and every third layer in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool is_quantized(DType t) { return type_traits(t).is_quantized; }

}  // namespace

std::span<const FileTypeInfo> all_file_types() { return kFileTypes; }

const FileTypeInfo* find_file_type(std::string_view name) {
  for (const auto& f : kFileTypes) {
    if (iequals(f.name, name)) return &f;
  }
  return nullptr;
}

const FileTypeInfo* find_file_type(FileType ft) {
  for (const auto& f : kFileTypes) {
    if (f.ft == ft) return &f;
  }
  return nullptr;
}

std::string file_type_list() {
  std::string s;
  for (const auto& f : kFileTypes) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

DType fallback_for_row_length(DType want, int64_t row_length, std::string* warning) {
  if (row_length % type_traits(want).block_size == 0) return want;
  DType alt = DType::F16;
  switch (want) {
    case DType::Q2_K:
    case DType::Q3_K: alt = DType::Q4_0; break;
    case DType::Q4_K: alt = DType::Q5_0; break;
    case DType::Q5_K: alt = DType::Q5_1; break;
    case DType::Q6_K: alt = DType::Q8_0; break;
    default: break;
  }
  if (row_length % type_traits(alt).block_size != 0) alt = DType::F16;
  if (warning) {
    *warning = "row length " + std::to_string(row_length) + " is not a multiple of " +
               std::to_string(type_traits(want).block_size) + " (required by " +
               std::string(type_traits(want).name) + "): using " + std::string(type_traits(alt).name);
  }
  return alt;
}

bool tensor_is_quantizable(const TensorPlace& t) {
  const std::string_view n = t.name;
  return t.n_dims >= 2 && n.size() >= 6 && n.substr(n.size() - 6) == "weight" && !contains(n, "_norm.weight");
}

DType tensor_type_for(const FileTypeInfo& ft, const TensorPlace& t, DType source, bool pure,
                      std::string* warning) {
  const std::string_view n = t.name;
  if (!tensor_is_quantizable(t)) return source;
  DType type = ft.base;
  if (!is_quantized(type)) return type;  // F32/F16/BF16 files convert every matrix
  const FileType f = ft.ft;
  const bool is_output = n == "output.weight" || (t.tied_embeddings && n == "token_embd.weight");
  if (!pure) {
    const int i = t.layer, nl = t.n_layer;
    if (is_output) {
      if (t.row_length % type_traits(type).block_size != 0) type = DType::Q8_0;
      else if (type != DType::Q8_0) type = DType::Q6_K;
    } else if (contains(n, "attn_v.weight")) {
      if (f == FileType::Q2_K) type = t.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
      else if (f == FileType::Q2_K_S && t.n_gqa >= 4) type = DType::Q4_K;
      else if (f == FileType::Q3_K_M) type = i < 2 ? DType::Q5_K : DType::Q4_K;
      else if (f == FileType::Q3_K_L) type = DType::Q5_K;
      else if ((f == FileType::Q4_K_M || f == FileType::Q5_K_M) && use_more_bits(i, nl)) type = DType::Q6_K;
      else if (f == FileType::Q4_K_S && i < 4) type = DType::Q5_K;
    } else if (contains(n, "ffn_down")) {
      if (f == FileType::Q2_K) type = DType::Q3_K;
      else if (f == FileType::Q2_K_S) { if (i < nl / 8) type = DType::Q4_K; }
      else if (f == FileType::Q3_K_M) type = i < nl / 16 ? DType::Q5_K : DType::Q4_K;
      else if (f == FileType::Q3_K_L) type = DType::Q5_K;
      else if (f == FileType::Q4_K_M) { if (use_more_bits(i, nl)) type = DType::Q6_K; }
      else if (f == FileType::Q5_K_M && use_more_bits(i, nl)) type = DType::Q6_K;
      else if (f == FileType::Q4_K_S && i < nl / 8) type = DType::Q5_K;
    } else if (contains(n, "attn_output.weight")) {
      if (f == FileType::Q2_K) type = DType::Q3_K;
      else if (f == FileType::Q3_K_M) type = DType::Q4_K;
      else if (f == FileType::Q3_K_L) type = DType::Q5_K;
    } else if (contains(n, "attn_qkv.weight")) {
      if (f == FileType::Q3_K_M || f == FileType::Q3_K_L) type = DType::Q4_K;
      else if (f == FileType::Q4_K_M) type = DType::Q5_K;
      else if (f == FileType::Q5_K_M) type = DType::Q6_K;
    }
  }
  return fallback_for_row_length(type, t.row_length, warning);
}

}  // namespace kestrel
