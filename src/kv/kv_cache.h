// The per-layer key/value cache, stored as f16.
//
// One row per position holds all KV heads of that position (n_head_kv *
// head_dim values). Memory is allocated once for n_ctx positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kestrel {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  uint16_t* k(int64_t layer) { return k_.data() + layer * n_ctx_ * kv_dim_; }
  uint16_t* v(int64_t layer) { return v_.data() + layer * n_ctx_ * kv_dim_; }
  // Stores n_tok rows of f32 keys/values (row stride kv_dim) at positions pos0...
  void store(int64_t layer, int64_t pos0, int64_t n_tok, const float* keys, const float* values);
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }

 private:
  int64_t n_ctx_;
  int64_t kv_dim_;
  std::vector<uint16_t> k_;
  std::vector<uint16_t> v_;
};

}  // namespace kestrel
