// Which type each tensor gets in a file of a given llama.cpp "file type"
// (Q4_0, Q4_K_M, ...), following llama.cpp's per-tensor choices: e.g. the
// output matrix (or the tied token embedding) goes to Q6_K, Q4_K_M bumps
// attn_v and ffn_down to Q6_K in the layers use_more_bits() selects, and a
// row length the type cannot take falls back to a compatible type
// (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, then F16).
// Shared by `kestrel synth` and `kestrel quantize`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/dtype.h"

namespace kestrel {

// llama.cpp's LLAMA_FTYPE_* ids (stored in general.file_type).
enum class FileType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9, Q2_K = 10,
  Q3_K_S = 11, Q3_K_M = 12, Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15, Q5_K_S = 16,
  Q5_K_M = 17, Q6_K = 18, Q2_K_S = 21, BF16 = 32,
};

struct FileTypeInfo {
  FileType ft;
  std::string_view name;  // "Q4_K_M"
  DType base;             // the type most matrices get
};

std::span<const FileTypeInfo> all_file_types();
const FileTypeInfo* find_file_type(std::string_view name);  // case-insensitive
const FileTypeInfo* find_file_type(FileType ft);
std::string file_type_list();  // "F32, F16, ..." for error messages

// What the policy needs to know about the model and the tensor.
struct TensorPlace {
  std::string_view name;      // GGUF tensor name
  int64_t row_length = 0;     // ne[0]
  int n_dims = 2;
  int layer = -1;             // blk.N index, -1 outside the blocks
  int n_layer = 0;
  int64_t n_gqa = 1;          // n_head / n_head_kv
  bool tied_embeddings = false;  // the file has no output.weight
};

// Whether llama.cpp's policy quantizes this tensor at all (2-D or more,
// named "*weight", not a norm).
bool tensor_is_quantizable(const TensorPlace& t);

// The type for one tensor. `source` is returned unchanged for tensors that
// are never quantized (1-D, norms). With `pure`, every quantizable tensor
// gets the base type (still subject to the row-length fallback). `warning`
// receives a message when a fallback happened.
DType tensor_type_for(const FileTypeInfo& ft, const TensorPlace& t, DType source, bool pure,
                      std::string* warning = nullptr);

// The row-length fallback alone (used for --tensor-type overrides too).
DType fallback_for_row_length(DType want, int64_t row_length, std::string* warning = nullptr);

}  // namespace kestrel
