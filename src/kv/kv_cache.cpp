// f16 KV cache storage (kv_cache.h).
#include "kv/kv_cache.h"

#include "core/half.h"

namespace kestrel {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
    : n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      k_(static_cast<size_t>(n_layer * n_ctx * kv_dim)),
      v_(static_cast<size_t>(n_layer * n_ctx * kv_dim)) {}

void KvCache::store(int64_t layer, int64_t pos0, int64_t n_tok, const float* keys,
                    const float* values) {
  uint16_t* kd = k(layer) + pos0 * kv_dim_;
  uint16_t* vd = v(layer) + pos0 * kv_dim_;
  const int64_t n = n_tok * kv_dim_;
  for (int64_t i = 0; i < n; ++i) {
    kd[i] = fp32_to_fp16(keys[i]);
    vd[i] = fp32_to_fp16(values[i]);
  }
}

}  // namespace kestrel
