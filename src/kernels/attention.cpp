// Attention work split and the scalar oracle (attention.h).
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/ops.h"

namespace kestrel {
namespace {

constexpr int64_t kRowsTarget = 32;               // rows per item when tokens allow
// An item's score rows. Each K/V row loaded serves every row of the item, so
// for a long prompt deep into the context more rows win even when their
// scores no longer fit in L2: per row and position the scores cost ~16
// bytes of cache traffic (four passes), the K/V rows 256 / rows bytes.
constexpr int64_t kScoreBytes = int64_t(8) << 20;

}  // namespace

AttentionScratch AttentionScratch::for_shape(int64_t n_ctx, const AttentionShape& s) {
  const int64_t group = s.n_head / s.n_head_kv;
  AttentionScratch l;
  l.max_rows = std::max<int64_t>(1, kRowsTarget / group) * group;
  l.row_pad = (n_ctx + 7) / 8 * 8 + 16;
  // scores, rounded queries, one V tile
  l.floats = l.max_rows * (l.row_pad + s.head_dim) + kVTile * s.head_dim;
  return l;
}

int64_t attention_scratch_floats(int64_t n_ctx, const AttentionShape& s, int n_threads) {
  return static_cast<int64_t>(n_threads) * AttentionScratch::for_shape(n_ctx, s).floats;
}

void attention_store_kv(const KvLayout& l, int n_head_kv, const float* k, const float* v, int64_t stride,
                        int64_t pos0, int64_t n_tok, uint16_t* k_cache, uint16_t* v_cache) {
  const int hd = l.head_dim;
  for (int64_t t = 0; t < n_tok; ++t) {
    for (int h = 0; h < n_head_kv; ++h) {
      const float* kr = k + t * stride + static_cast<int64_t>(h) * hd;
      f32_to_f16_row(v + t * stride + static_cast<int64_t>(h) * hd, v_cache + l.v_index(h, pos0 + t, 0), hd);
      // Keys go 8 positions apart: convert the row, then scatter it.
      uint16_t row[512];
      for (int d0 = 0; d0 < hd; d0 += 512) {
        const int n = std::min(512, hd - d0);
        f32_to_f16_row(kr + d0, row, n);
        for (int d = 0; d < n; ++d) k_cache[l.k_index(h, pos0 + t, d0 + d)] = row[d];
      }
    }
  }
}

void attention_rows_ref(const AttentionArgs& a, int kvh, int64_t t0, int64_t t1, float* scratch) {
  const AttentionShape& s = a.shape;
  const int hd = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  float* scores = scratch;
  float* qh = scratch + AttentionScratch::for_shape(a.cache.capacity, s).row_pad;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t n_kv = a.pos0 + t + 1;
    for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
      const float* qrow = a.q + t * a.q_stride + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) qh[d] = fp16_to_fp32(fp32_to_fp16(qrow[d]));
      for (int64_t j = 0; j < n_kv; ++j) {
        float dot = 0.0f;
        for (int d = 0; d < hd; ++d) dot += qh[d] * fp16_to_fp32(a.k[a.cache.k_index(kvh, j, d)]);
        scores[j] = dot * a.scale;
      }
      softmax_inplace(scores, n_kv);
      float* o = a.out + t * a.out_stride + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) o[d] = 0.0f;
      for (int64_t j = 0; j < n_kv; ++j) {
        const float p = fp16_to_fp32(fp32_to_fp16(scores[j]));
        const uint16_t* vr = a.v + a.cache.v_index(kvh, j, 0);
        for (int d = 0; d < hd; ++d) o[d] += p * fp16_to_fp32(vr[d]);
      }
    }
  }
}

void attention_f16kv(const AttentionArgs& a, float* scratch, ThreadPool& pool, KernelPath path) {
  const AttentionShape& s = a.shape;
  if (s.head_dim % 8 != 0) throw Error("attention: head_dim must be a multiple of 8");
  if (a.pos0 + a.n_tok > a.cache.capacity || a.cache.capacity % 8 != 0) {
    throw Error("attention: positions past the cache, or a capacity that is not a multiple of 8");
  }
  const AttentionScratch layout = AttentionScratch::for_shape(a.cache.capacity, s);
  const int64_t group = s.n_head / s.n_head_kv;
  // Tokens per item: as many as the row budget allows, fewer when the score
  // rows would outgrow kScoreBytes.
  const int64_t n_kv_max = a.pos0 + a.n_tok;
  const int64_t by_cache = kScoreBytes / (group * n_kv_max * static_cast<int64_t>(sizeof(float)));
  const int64_t tq = std::clamp<int64_t>(by_cache, 1, layout.max_rows / group);
  const int64_t n_blocks = (a.n_tok + tq - 1) / tq;
  const bool fast = path == KernelPath::Auto && use_avx2();
  // Items ordered last block first: later tokens attend to more positions,
  // so the expensive items start early and the cheap ones fill the tail.
  pool.for_each(n_blocks * s.n_head_kv, [&](int64_t item, int thread) {
    const int64_t block = n_blocks - 1 - item / s.n_head_kv;
    const int kvh = static_cast<int>(item % s.n_head_kv);
    const int64_t t0 = block * tq, t1 = std::min(a.n_tok, t0 + tq);
    float* mine = scratch + static_cast<int64_t>(thread) * layout.floats;
    if (fast) {
      attention_rows_avx2(a, kvh, t0, t1, mine);
    } else {
      attention_rows_ref(a, kvh, t0, t1, mine);
    }
  });
}

}  // namespace kestrel
