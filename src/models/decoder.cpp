// The llama-family decoder forward pass: composes the ops of kernels/ into
// pre-norm attention + SwiGLU blocks for one chunk of tokens.
//
// Used by every architecture in the table (llama, qwen2); the differences
// between them are data in ArchSpec/ModelConfig (RoPE style, QKV biases).
// Knows nothing about SIMD: every heavy loop is a kernel call.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/ops.h"
#include "runtime/context.h"

namespace kestrel {
namespace {

double clock_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void Context::project(std::initializer_list<MatmulOp> ops, const float* x, int64_t n_tok, Epilogue epilogue) {
  if (observer_) {
    for (const MatmulOp& op : ops) observer_->observe(*op.w, x, n_tok);
  }
  const double t0 = profiling_ ? clock_s() : 0.0;
  matmul_group({ops.begin(), ops.size()}, x, n_tok, act_.data(), pool_, params_.path, epilogue);
  if (profiling_) {
    profile_.matmul_s += clock_s() - t0;
    for (const MatmulOp& op : ops) {
      profile_.matmul_bytes += static_cast<double>(op.w->row_bytes()) * static_cast<double>(op.w->n_out);
    }
  }
}

// out_offset: first output row of logits_ to fill (-1: no logits needed).
void Context::forward_chunk(const TokenId* tokens, int64_t n_tok, bool all_logits,
                            int64_t out_offset) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const int64_t pos0 = n_past_;
  const int64_t E = c.n_embd, QD = c.q_dim(), KVD = c.kv_dim(), FF = c.n_ff;

  // Per-token row operations: inline for one token (decode), spread over
  // the pool in blocks of tokens for a prompt.
  auto per_token = [&](auto&& fn) {
    constexpr int64_t kBlock = 16;
    if (n_tok == 1) {
      fn(int64_t{0});
      return;
    }
    pool_.for_each((n_tok + kBlock - 1) / kBlock, [&](int64_t b, int) {
      for (int64_t t = b * kBlock; t < std::min(n_tok, (b + 1) * kBlock); ++t) fn(t);
    });
  };

  per_token([&](int64_t t) { dequantize_row(w.tok_embd, tokens[t], x_.data() + t * E); });

  RopeParams rope;
  rope.style = c.rope_style;
  rope.n_rot = c.n_rot;
  rope.freq_base = c.rope_base;
  rope.freq_scale = c.rope_freq_scale;
  rope.freq_factors = w.rope_freqs;
  const int64_t half = c.n_rot / 2;
  per_token([&](int64_t t) { rope_cache(rope, pos0 + t, rope_cos_.data() + t * half, rope_sin_.data() + t * half); });
  const AttentionShape shape{static_cast<int>(c.n_head), static_cast<int>(c.n_head_kv),
                             static_cast<int>(c.head_dim)};
  const float kq_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  auto add_bias = [&](float* y, const float* bias, int64_t dim) {
    if (!bias) return;
    for (int64_t t = 0; t < n_tok; ++t) add_inplace(y + t * dim, bias, dim);
  };

  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    // Attention block.
    per_token([&](int64_t t) { rms_norm(x_.data() + t * E, L.attn_norm, cur_.data() + t * E, E, c.rms_eps); });
    project({{&L.wq, q_.data(), QD}, {&L.wk, k_.data(), KVD}, {&L.wv, v_.data(), KVD}}, cur_.data(), n_tok);
    add_bias(q_.data(), L.bq, QD);
    add_bias(k_.data(), L.bk, KVD);
    add_bias(v_.data(), L.bv, KVD);
    per_token([&](int64_t t) {
      const float* cs = rope_cos_.data() + t * half;
      const float* sn = rope_sin_.data() + t * half;
      rope_apply(rope, cs, sn, q_.data() + t * QD, static_cast<int>(c.n_head), static_cast<int>(c.head_dim));
      rope_apply(rope, cs, sn, k_.data() + t * KVD, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim));
    });
    // The cache memory holds attention's own layout (kernels/attention.h).
    const KvLayout cache{kv_.n_ctx(), static_cast<int>(c.head_dim)};
    attention_store_kv(cache, static_cast<int>(c.n_head_kv), k_.data(), v_.data(), KVD, pos0, n_tok, kv_.k(l),
                       kv_.v(l));
    AttentionArgs att;
    att.q = q_.data();
    att.q_stride = QD;
    att.k = kv_.k(l);
    att.v = kv_.v(l);
    att.cache = cache;
    att.n_tok = n_tok;
    att.pos0 = pos0;
    att.shape = shape;
    att.scale = kq_scale;
    att.out = cur_.data();
    att.out_stride = QD;
    const double t_att = profiling_ ? clock_s() : 0.0;
    attention_f16kv(att, att_scratch_.data(), pool_, params_.path);
    if (profiling_) {
      profile_.attention_s += clock_s() - t_att;
      // Token t reads the K and V rows of positions 0..pos0 + t (f16).
      const double rows = static_cast<double>(n_tok) * static_cast<double>(pos0) +
                          static_cast<double>(n_tok) * static_cast<double>(n_tok + 1) / 2.0;
      profile_.kv_bytes += rows * 2.0 * 2.0 * static_cast<double>(KVD);
    }
    project({{&L.wo, x_.data(), E, /*accumulate=*/true}}, cur_.data(), n_tok);  // x += Wo attn

    // Feed-forward block (SwiGLU).
    per_token([&](int64_t t) { rms_norm(x_.data() + t * E, L.ffn_norm, cur_.data() + t * E, E, c.rms_eps); });
    project({{&L.w_gate, gate_.data(), FF}, {&L.w_up, up_.data(), FF}}, cur_.data(), n_tok, Epilogue::SwiGLU);
    project({{&L.w_down, x_.data(), E, /*accumulate=*/true}}, gate_.data(), n_tok);  // x += Wdown swiglu
  }
  n_past_ += n_tok;

  if (out_offset < 0) return;
  // Final norm and output projection, only for the rows whose logits we keep.
  const int64_t first = all_logits ? 0 : n_tok - 1;
  const int64_t n_out = n_tok - first;
  for (int64_t t = 0; t < n_out; ++t) {
    rms_norm(x_.data() + (first + t) * E, w.output_norm, cur_.data() + t * E, E, c.rms_eps);
  }
  project({{&w.output, logits_.data() + out_offset * c.n_vocab, c.n_vocab}}, cur_.data(), n_out);
}

}  // namespace kestrel
