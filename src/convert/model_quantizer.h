// `kestrel quantize`: rewrite a GGUF model with its matrices in another type.
//
// The per-tensor type comes from llama.cpp's policy (models/quant_policy.h):
// the file type's base type, its mix rules unless `pure`, --tensor-type
// overrides (a regex searched in the tensor name, first match wins, as
// llama-quantize does), then the row-length fallback (Q4_K->Q5_0, ...).
// Every source row is converted to f32 (F32/F16/BF16 or, with
// allow_requantize, an already quantized type) and quantized with
// quantize_row_with_importance, optionally weighted by an importance matrix.
// Metadata is copied key by key; general.quantization_version and
// general.file_type are re-set at the end, and tensors are written in
// llama.cpp's order (non-block tensors, then blk.0, blk.1, ...; by name
// within each), so the result has the layout llama-quantize would write.
// The output is written to OUT.tmp and renamed, so a failure at any point
// leaves nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "models/quant_policy.h"

namespace kestrel {

class ImportanceMatrix;

// One --tensor-type NAME=TYPE option. llama.cpp lower-cases NAME and uses it
// as an ECMAScript regular expression searched anywhere in the tensor name
// ("attn_v=q8_0" matches every blk.N.attn_v.weight).
struct TensorTypeOverride {
  std::string pattern;
  DType type = DType::F32;
};

// Parses "NAME=TYPE" (TYPE is a tensor type name such as q8_0 or Q4_K, any
// case); throws kestrel::Error naming the problem (no '=', empty name, an
// unknown type with the list of valid ones, an invalid regular expression).
TensorTypeOverride parse_tensor_type_override(std::string_view arg);

// The file type for llama-quantize's TYPE argument: a file-type name
// (Q4_K_M, case-insensitive), llama.cpp's aliases Q3_K / Q4_K / Q5_K for the
// _M mixes, or a numeric LLAMA_FTYPE id. Throws kestrel::Error listing the
// valid names otherwise.
const FileTypeInfo& parse_quantize_type(std::string_view name);
std::string quantize_type_names();  // "Q4_0, Q4_1, ..." including the aliases

struct QuantizeOptions {
  const FileTypeInfo* file_type = nullptr;
  bool pure = false;               // every matrix in the base type (no mix rules)
  bool allow_requantize = false;   // accept sources that are already quantized
  const ImportanceMatrix* imatrix = nullptr;  // per-column importance, or none
  std::string imatrix_path;        // recorded as quantize.imatrix.file
  std::vector<TensorTypeOverride> overrides;
  int n_threads = 0;               // 0: default_thread_count()
  bool progress = false;           // progress bar on stderr
  // Receives each warning (fallbacks, requantizing, missing imatrix entries);
  // null prints "warning: ..." to stderr.
  std::function<void(const std::string&)> on_warning;
};

// What happens to one tensor.
struct TensorPlan {
  std::string name;
  std::vector<int64_t> ne;
  DType from = DType::F32;
  DType to = DType::F32;
  bool with_imatrix = false;   // quantized with importance weights
  bool fallback = false;       // the row length forced another type
};

// The per-tensor types, in output order, without converting anything.
// Throws kestrel::Error for a quantized source without allow_requantize,
// an imatrix entry whose size does not match its tensor, or an imatrix that
// names no tensor of this model.
std::vector<TensorPlan> plan_quantization(const gguf::Reader& src, const QuantizeOptions& opt);

struct QuantizeStats {
  int n_tensors = 0;
  int n_converted = 0;        // tensors whose type changed
  int n_fallback = 0;         // row-length fallbacks
  int n_with_imatrix = 0;
  uint64_t n_elements = 0;
  uint64_t bytes_in = 0, bytes_out = 0;  // tensor data only
  double seconds = 0;
};

// The quantized model in memory: the writer plus the buffers it points to.
// Unconverted tensors point into the source mapping, so the source Reader
// must outlive this object.
class QuantizedModel {
 public:
  const gguf::Writer& writer() const { return writer_; }
  const std::vector<TensorPlan>& plan() const { return plan_; }
  const QuantizeStats& stats() const { return stats_; }
  // The bytes of one output tensor (nullptr when absent).
  const uint8_t* tensor_data(std::string_view name, size_t* nbytes = nullptr) const;

 private:
  friend QuantizedModel quantize_model(const gguf::Reader&, const QuantizeOptions&);
  gguf::Writer writer_;
  std::vector<TensorPlan> plan_;
  std::vector<std::vector<uint8_t>> buffers_;      // converted tensors' data
  std::vector<std::pair<const uint8_t*, size_t>> data_;  // per plan entry
  QuantizeStats stats_;
};

QuantizedModel quantize_model(const gguf::Reader& src, const QuantizeOptions& opt);

// Opens `in`, quantizes and writes `out` (via out.tmp + rename). Checks
// that `out` can be created before the (long) conversion starts.
QuantizeStats quantize_model_file(const std::string& in, const std::string& out, const QuantizeOptions& opt);

}  // namespace kestrel
