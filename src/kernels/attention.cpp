// Scalar implementation of attention.h.
#include "kernels/attention.h"

#include <cmath>
#include <limits>

#include "core/half.h"
#include "kernels/ops.h"

namespace kestrel {

int64_t attention_scratch_floats(int64_t n_ctx, const AttentionShape& s, int n_threads) {
  return static_cast<int64_t>(n_threads) * (n_ctx + 2 * s.head_dim);
}

void attention_f16kv(const float* q, int64_t q_stride, const uint16_t* k, const uint16_t* v,
                     int64_t kv_stride, int64_t n_tok, int64_t pos0, const AttentionShape& s,
                     float scale, float* out, int64_t out_stride, float* scratch,
                     int64_t n_ctx, ThreadPool& pool) {
  const int hd = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const int64_t n_items = n_tok * s.n_head;
  pool.for_each(n_items, [&](int64_t item, int thread) {
    float* scores = scratch + static_cast<int64_t>(thread) * (n_ctx + 2 * hd);
    float* qh = scores + n_ctx;
    float* acc = qh + hd;
    {
      const int64_t t = item / s.n_head;
      const int h = static_cast<int>(item % s.n_head);
      const int kvh = h / group;
      const int64_t n_kv = pos0 + t + 1;
      const float* qrow = q + t * q_stride + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) qh[d] = fp16_to_fp32(fp32_to_fp16(qrow[d]));
      for (int64_t j = 0; j < n_kv; ++j) {
        const uint16_t* kr = k + j * kv_stride + static_cast<int64_t>(kvh) * hd;
        float dot = 0.0f;
        for (int d = 0; d < hd; ++d) dot += qh[d] * fp16_to_fp32(kr[d]);
        scores[j] = dot * scale;
      }
      softmax_inplace(scores, n_kv);
      for (int d = 0; d < hd; ++d) acc[d] = 0.0f;
      for (int64_t j = 0; j < n_kv; ++j) {
        const float p = fp16_to_fp32(fp32_to_fp16(scores[j]));
        if (p == 0.0f) continue;
        const uint16_t* vr = v + j * kv_stride + static_cast<int64_t>(kvh) * hd;
        for (int d = 0; d < hd; ++d) acc[d] += p * fp16_to_fp32(vr[d]);
      }
      float* o = out + t * out_stride + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) o[d] = acc[d];
    }
  });
}

}  // namespace kestrel
