// Causal multi-head attention over an f16 KV cache (GQA/MQA aware).
//
// Reproduces llama.cpp's non-flash-attention CPU arithmetic: the query is
// rounded to f16 before Q·K (ggml converts it to K's type), scores are scaled
// and soft-maxed in f32 (sum in double; like ggml's SIMD softmax, exp is a
// polynomial rather than libm's expf: exp_softmax, within 2 ulp of it), and
// the probabilities are rounded to f16 before the V product (ggml converts
// them to V's type).
//
// The f16 KV cache has the layout attention reads best (KvLayout): for
// each KV head, keys in blocks of 8 positions stored dimension-major (one
// 16-byte load gives one dimension of 8 positions, the operand of a vector
// of 8 scores) and values position-major (one head's rows contiguous).
//
// Work is split into items of (KV head, block of query tokens): the item's
// rows are the query heads sharing that KV head for each token of the
// block, so every K and V row loaded serves all of them. Per item the
// scores of its rows live in a per-thread buffer of n_ctx floats per row
// (never a score matrix over the whole prompt; its size is bounded), and
// three passes run over it: scores,
// softmax, then the V product. The AVX2 path (kernels/avx2/attention_avx2.cpp)
// performs the same float operations per element in the same order as the
// scalar path (the products of f16 values are exact, so FMA changes
// nothing; exp_softmax and the sum's order are shared), hence identical
// results.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/matmul.h"

namespace kestrel {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // a multiple of 8
};

// Where position `pos`, dimension `d` of KV head `kvh` lives in one layer's
// f16 key and value caches of `capacity` positions (a multiple of 8).
struct KvLayout {
  int64_t capacity = 0;
  int head_dim = 0;
  int64_t k_index(int kvh, int64_t pos, int d) const {
    return ((kvh * (capacity / 8) + pos / 8) * head_dim + d) * 8 + pos % 8;
  }
  int64_t v_index(int kvh, int64_t pos, int d) const { return (kvh * capacity + pos) * head_dim + d; }
};

// Writes n_tok rows of keys and values (f32, n_head_kv*head_dim each, row
// stride `stride`) for positions pos0.. into one layer's caches, rounded to
// f16 (to nearest even, as fp32_to_fp16).
void attention_store_kv(const KvLayout& l, int n_head_kv, const float* k, const float* v, int64_t stride,
                        int64_t pos0, int64_t n_tok, uint16_t* k_cache, uint16_t* v_cache);

struct AttentionArgs {
  const float* q = nullptr;     // n_tok rows of n_head*head_dim floats
  int64_t q_stride = 0;
  const uint16_t* k = nullptr;  // one layer's caches (KvLayout)
  const uint16_t* v = nullptr;
  KvLayout cache;
  int64_t n_tok = 0;            // token t is at position pos0 + t and sees [0, pos0 + t]
  int64_t pos0 = 0;
  AttentionShape shape;
  float scale = 1.0f;
  float* out = nullptr;         // n_tok rows of n_head*head_dim floats
  int64_t out_stride = 0;
};

// Floats of scratch attention_f16kv needs for a cache of n_ctx positions
// (the capacity).
int64_t attention_scratch_floats(int64_t n_ctx, const AttentionShape& s, int n_threads);

void attention_f16kv(const AttentionArgs& a, float* scratch, ThreadPool& pool,
                     KernelPath path = KernelPath::Auto);

// One work item: the rows of KV head kvh for tokens [t0, t1), with one
// thread's scratch. The scalar oracle and the AVX2 version (exposed for
// tests).
void attention_rows_ref(const AttentionArgs& a, int kvh, int64_t t0, int64_t t1, float* scratch);
void attention_rows_avx2(const AttentionArgs& a, int kvh, int64_t t0, int64_t t1, float* scratch);

// Per-thread scratch layout shared by both versions.
struct AttentionScratch {
  int64_t max_rows;   // rows of one item
  int64_t row_pad;    // floats per score row (n_ctx rounded up, plus two blocks)
  int64_t floats;     // total per thread
  static AttentionScratch for_shape(int64_t n_ctx, const AttentionShape& s);
  static constexpr int64_t kVTile = 32;  // positions of V converted at a time
};

}  // namespace kestrel
