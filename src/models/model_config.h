// Hyper-parameters of a llama-family decoder, read from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/ops.h"

namespace kestrel {

struct ModelConfig {
  std::string arch;          // general.architecture
  std::string name;          // general.name (may be empty)
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;      // per-head size of Q and K (and V)
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::Adjacent;
  int n_rot = 0;
  float rope_base = 10000.0f;
  float rope_freq_scale = 1.0f;
  bool qkv_bias = false;
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  int64_t q_dim() const { return n_head * head_dim; }
};

}  // namespace kestrel
