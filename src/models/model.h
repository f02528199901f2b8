// A loaded model: GGUF mapping, hyper-parameters, weight views, tokenizer.
//
// Weights are used in place from the memory-mapped file; only small f32
// vectors stored in another type (rare norm weights) are converted into
// owned buffers. Loading validates every hyper-parameter (models/model_keys.h:
// type, range, consistency with the other keys and the tensor shapes, the
// error naming the key and its value), then every tensor's shape, and that
// the small f32 vectors (norms, biases, RoPE factors) are finite.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "models/architecture.h"
#include "models/model_config.h"
#include "tokenizer/tokenizer.h"

namespace kestrel {

class KeyReader;

struct LayerWeights {
  const float* attn_norm = nullptr;      // [n_embd]
  WeightMatrix wq, wk, wv, wo;           // [q_dim x n_embd], [kv_dim x n_embd] x2, [n_embd x q_dim]
  const float* bq = nullptr;             // [q_dim]  (qkv_bias only)
  const float* bk = nullptr;             // [kv_dim]
  const float* bv = nullptr;             // [kv_dim]
  const float* ffn_norm = nullptr;       // [n_embd]
  WeightMatrix w_gate, w_up, w_down;     // [n_ff x n_embd] x2, [n_embd x n_ff]
};

struct ModelWeights {
  WeightMatrix tok_embd;                 // [n_vocab x n_embd]
  const float* output_norm = nullptr;    // [n_embd]
  WeightMatrix output;                   // [n_vocab x n_embd] (tok_embd when tied)
  const float* rope_freqs = nullptr;     // [n_rot/2] or null
  std::vector<LayerWeights> layers;
};

class Model {
 public:
  // Loads and validates; throws kestrel::Error with a clear message.
  // n_threads pack the weights (0: one per physical core).
  static std::unique_ptr<Model> load(const std::string& path, int n_threads = 0);

  const ModelConfig& config() const { return config_; }
  const ArchSpec& arch() const { return *arch_; }
  const ModelWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const gguf::Reader& gguf() const { return *reader_; }

  uint64_t n_params() const;       // elements of all tensors
  uint64_t file_bytes() const;     // tensor bytes in the file
  std::string type_label() const;  // e.g. "Q4_K_M" from general.file_type, else the type with most bytes

 private:
  Model() = default;
  // model_hparams.cpp: the keys, each checked against the tensors it sizes
  // as soon as it is read, so the wrong key is the one named.
  void load_config();
  void read_sizes(const KeyReader& k);
  void read_heads(const KeyReader& k);
  void read_norm_and_rope(const KeyReader& k);
  void check_vocab_size() const;
  void load_weights();
  void pack_weights(int n_threads);
  const float* f32_vector(const std::string& name, int64_t n, bool required);
  WeightMatrix matrix(const std::string& name, int64_t n_in, int64_t n_out, bool required);

  std::unique_ptr<gguf::Reader> reader_;
  std::unique_ptr<Tokenizer> tokenizer_;
  const ArchSpec* arch_ = nullptr;
  ModelConfig config_;
  ModelWeights weights_;
  std::vector<std::vector<float>> owned_;  // converted small vectors
  std::vector<PackedBuffer> packed_;       // row-interleaved copies for the AVX2 kernels
};

}  // namespace kestrel
