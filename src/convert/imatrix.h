// Importance matrices (`kestrel imatrix`): per input column of every weight
// matrix, the sum of squared activations Σx² seen while running the model on
// a calibration text, and the number of rows summed.
//
// The file is llama.cpp's GGUF imatrix layout (tools/imatrix), so either
// tool can read the other's: general.type = "imatrix", imatrix.datasets
// (string array), imatrix.chunk_count and imatrix.chunk_size (u32), and per
// matrix NAME three F32 tensors, in name order: NAME.in_sum2 [n_cols x n_mat]
// (Σx²), NAME.counts [1 x n_mat] (rows summed) and NAME.in_sum (Σx, which
// newer llama.cpp writes for its statistics). Quantization uses the mean
// square Σx²/count per column as the weight of that column's error.
//
// Collection follows llama-imatrix: the text is cut into chunks of n_ctx
// tokens, each evaluated from an empty cache with its first token replaced
// by BOS and logits for every position; only products with at least 16
// input rows count, and only blk.* matrices (output.weight too with
// process_output: llama.cpp skips it by default).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/context.h"

namespace kestrel {

struct ImatrixEntry {
  int64_t n_cols = 0;
  std::vector<double> sum2;    // [n_mat * n_cols] Σx²
  std::vector<double> sum;     // [n_mat * n_cols] Σx (may be empty when read from an old file)
  std::vector<int64_t> counts; // [n_mat] rows summed
  int64_t n_mat() const { return static_cast<int64_t>(counts.size()); }
};

class ImportanceMatrix {
 public:
  std::map<std::string, ImatrixEntry, std::less<>> entries;  // by tensor name
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0;
  uint32_t chunk_size = 0;

  const ImatrixEntry* find(std::string_view tensor) const;
  // Σx²/count per column, n_mat * n_cols values (a matrix with no rows gets
  // ones, as llama-quantize does). Empty when `tensor` has no entry.
  std::vector<float> mean_squares(std::string_view tensor) const;

  // Writes the GGUF layout above via PATH.tmp + rename; throws kestrel::Error.
  void write(const std::string& path) const;
  // Reads a GGUF imatrix (ours or llama.cpp's); throws kestrel::Error for an
  // unreadable file, a GGUF that is not an imatrix, an entry missing its
  // counts or with mismatched sizes, non-F32 data or non-finite values.
  static ImportanceMatrix read(const std::string& path);
};

// Accumulates Σx², Σx and row counts from a Context's matrix products.
class ImatrixCollector : public MatmulObserver {
 public:
  explicit ImatrixCollector(bool process_output = false) : process_output_(process_output) {}
  void observe(const WeightMatrix& w, const float* x, int64_t n_tok) override;
  ImportanceMatrix& result() { return im_; }

  static constexpr int64_t kMinRows = 16;  // llama.cpp ignores smaller batches

 private:
  bool process_output_;
  ImportanceMatrix im_;
};

struct ImatrixOptions {
  int64_t n_ctx = 512;
  int64_t n_chunks = -1;    // -1: every whole chunk
  int64_t n_batch = 0;      // 0: n_ctx
  int n_threads = 0;
  bool process_output = false;
  std::string dataset;      // recorded in imatrix.datasets
  // After each chunk: running perplexity of the second half of the chunks
  // (llama-imatrix prints the same figure).
  std::function<void(int64_t chunk, int64_t n_chunks, double ppl)> on_chunk;
};

struct ImatrixRun {
  ImportanceMatrix imatrix;
  double ppl = 0;
  int64_t n_tokens = 0;
};

// Runs `model` over `tokens` (BOS first when the vocabulary adds one).
// Throws kestrel::Error when the text holds no whole chunk.
ImatrixRun compute_imatrix(const Model& model, std::span<const TokenId> tokens, const ImatrixOptions& opt);

// The whole command: loads the model, reads and tokenizes the text, runs
// compute_imatrix and writes `out_path`. Everything that can fail (an
// unreadable text, a short text, an unwritable output) fails before or
// without leaving a partial file.
ImatrixRun compute_imatrix_file(const std::string& model_path, const std::string& text_path,
                                const std::string& out_path, ImatrixOptions opt);

}  // namespace kestrel
