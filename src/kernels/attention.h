// Causal multi-head attention over an f16 KV cache (GQA/MQA aware).
//
// Reproduces llama.cpp's non-flash-attention CPU arithmetic: the query is
// rounded to f16 before Q·K (ggml converts it to K's type), scores are scaled
// and soft-maxed in f32, and the probabilities are rounded to f16 before the
// V product (ggml converts them to V's type).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace kestrel {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
};

// Floats of scratch attention_f16kv needs for a cache of n_ctx positions.
int64_t attention_scratch_floats(int64_t n_ctx, const AttentionShape& s, int n_threads);

// q:   n_tok rows of n_head*head_dim floats, row stride q_stride.
// k,v: f16 cache rows (one per position) of n_head_kv*head_dim, stride kv_stride.
// Token t is at position pos0 + t and attends to positions [0, pos0 + t].
// out: n_tok rows of n_head*head_dim floats, row stride out_stride.
void attention_f16kv(const float* q, int64_t q_stride, const uint16_t* k, const uint16_t* v,
                     int64_t kv_stride, int64_t n_tok, int64_t pos0, const AttentionShape& s,
                     float scale, float* out, int64_t out_stride, float* scratch,
                     int64_t n_ctx, ThreadPool& pool);

}  // namespace kestrel
