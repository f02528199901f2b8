// The llama-family decoder forward pass (decoder.h): composes the ops of
// kernels/ into pre-norm attention + SwiGLU blocks for one batch of tokens
// from any number of sequences.
//
// Every row operation (embedding, norms, RoPE) is per token and every
// matrix product treats the batch as rows of one product, so the weights
// are read once for all sequences; attention reads each sequence's own
// pages (kernels/attention.h). Knows nothing about SIMD: every heavy loop
// is a kernel call.
#include "models/decoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "kernels/ops.h"
#include "models/model.h"

namespace kestrel {
namespace {

double clock_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Pass {
  const Model& model;
  const ForwardBatch& batch;
  const KvCache& kv;
  Workspace& ws;
  const ForwardEnv& env;

  // matmul_group() plus the observer and profile hooks.
  void project(std::initializer_list<MatmulOp> ops, const float* x, int64_t n_tok, Epilogue epilogue = Epilogue::None) {
    if (env.observer) {
      for (const MatmulOp& op : ops) env.observer->observe(*op.w, x, n_tok);
    }
    const double t0 = env.profile ? clock_s() : 0.0;
    matmul_group({ops.begin(), ops.size()}, x, n_tok, ws.act.data(), *env.pool, env.path, epilogue);
    if (env.profile) {
      env.profile->matmul_s += clock_s() - t0;
      for (const MatmulOp& op : ops) {
        env.profile->matmul_bytes += static_cast<double>(op.w->row_bytes()) * static_cast<double>(op.w->n_out);
      }
    }
  }

  // Per-token row operations: inline for one token (decode), spread over
  // the pool in blocks of tokens for a prompt or a batch.
  template <typename Fn>
  void per_token(int64_t n_tok, Fn&& fn) {
    constexpr int64_t kBlock = 16;
    if (n_tok == 1) {
      fn(int64_t{0});
      return;
    }
    env.pool->for_each((n_tok + kBlock - 1) / kBlock, [&](int64_t b, int) {
      for (int64_t t = b * kBlock; t < std::min(n_tok, (b + 1) * kBlock); ++t) fn(t);
    });
  }

  // K/V bytes attention reads in one layer: each row's visible slots.
  double kv_bytes_read() const {
    double slots = 0;
    for (const AttentionRun& r : batch.runs) {
      for (int64_t i = 0; i < r.n_rows; ++i) {
        int64_t seen = r.slot0 + i + 1;
        if (r.mask) {
          seen = r.slot0;
          for (int64_t j = 0; j <= i; ++j) seen += attention_row_sees(r, i, r.slot0 + j);
        }
        slots += static_cast<double>(seen);
      }
    }
    const KvGeometry& g = kv.geometry();
    return slots * g.n_head_kv * kv.format().bytes_per_position(g.head_dim);
  }

  void attention_layer(int64_t l, float kq_scale) {
    const ModelConfig& c = model.config();
    const int64_t QD = c.q_dim(), KVD = c.kv_dim();
    const KvPages pages = kv.layer(l);
    const KvFormat& fmt = kv.format();
    for (const AttentionRun& r : batch.runs) {
      for (int64_t i = 0; i < r.n_rows; ++i) {
        const int64_t t = r.row0 + i;
        fmt.store(pages, r.pages, r.slot0 + i, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim),
                  ws.k.data() + t * KVD, ws.v.data() + t * KVD);
      }
    }
    AttentionBatch att;
    att.q = ws.q.data();
    att.q_stride = QD;
    att.out = ws.cur.data();
    att.out_stride = QD;
    att.shape = {static_cast<int>(c.n_head), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim)};
    att.scale = kq_scale;
    att.kv = pages;
    att.runs = batch.runs;
    const double t0 = env.profile ? clock_s() : 0.0;
    attention_paged(att, ws.attention, *env.pool, fmt.task(env.path));
    if (env.profile) {
      env.profile->attention_s += clock_s() - t0;
      env.profile->kv_bytes += kv_bytes_read();
    }
  }
};

}  // namespace

void llama_family_forward(const Model& model, const ForwardBatch& batch, const KvCache& kv, Workspace& ws,
                          const ForwardOutputs& out, const ForwardEnv& env) {
  Pass pass{model, batch, kv, ws, env};
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const int64_t n_tok = batch.n_tok;
  const int64_t E = c.n_embd, QD = c.q_dim(), KVD = c.kv_dim(), FF = c.n_ff;

  pass.per_token(n_tok, [&](int64_t t) { dequantize_row(w.tok_embd, batch.tokens[t], ws.x.data() + t * E); });

  RopeParams rope;
  rope.style = c.rope_style;
  rope.n_rot = c.n_rot;
  rope.freq_base = c.rope_base;
  rope.freq_scale = c.rope_freq_scale;
  rope.freq_factors = w.rope_freqs;
  const int64_t half = c.n_rot / 2;
  pass.per_token(n_tok, [&](int64_t t) {
    rope_cache(rope, batch.pos[t], ws.rope_cos.data() + t * half, ws.rope_sin.data() + t * half);
  });
  const float kq_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  auto add_bias = [&](float* y, const float* bias, int64_t dim) {
    if (!bias) return;
    for (int64_t t = 0; t < n_tok; ++t) add_inplace(y + t * dim, bias, dim);
  };
  const size_t n_capture = out.capture_layers.size();

  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    // Attention block.
    pass.per_token(n_tok, [&](int64_t t) { rms_norm(ws.x.data() + t * E, L.attn_norm, ws.cur.data() + t * E, E, c.rms_eps); });
    pass.project({{&L.wq, ws.q.data(), QD}, {&L.wk, ws.k.data(), KVD}, {&L.wv, ws.v.data(), KVD}}, ws.cur.data(), n_tok);
    add_bias(ws.q.data(), L.bq, QD);
    add_bias(ws.k.data(), L.bk, KVD);
    add_bias(ws.v.data(), L.bv, KVD);
    pass.per_token(n_tok, [&](int64_t t) {
      const float* cs = ws.rope_cos.data() + t * half;
      const float* sn = ws.rope_sin.data() + t * half;
      rope_apply(rope, cs, sn, ws.q.data() + t * QD, static_cast<int>(c.n_head), static_cast<int>(c.head_dim));
      rope_apply(rope, cs, sn, ws.k.data() + t * KVD, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim));
    });
    pass.attention_layer(l, kq_scale);
    pass.project({{&L.wo, ws.x.data(), E, /*accumulate=*/true}}, ws.cur.data(), n_tok);  // x += Wo attn

    // Feed-forward block (SwiGLU).
    pass.per_token(n_tok, [&](int64_t t) { rms_norm(ws.x.data() + t * E, L.ffn_norm, ws.cur.data() + t * E, E, c.rms_eps); });
    pass.project({{&L.w_gate, ws.gate.data(), FF}, {&L.w_up, ws.up.data(), FF}}, ws.cur.data(), n_tok, Epilogue::SwiGLU);
    pass.project({{&L.w_down, ws.x.data(), E, /*accumulate=*/true}}, ws.gate.data(), n_tok);  // x += Wdown swiglu

    for (size_t k = 0; k < n_capture; ++k) {
      if (out.capture_layers[k] != l) continue;
      for (int64_t i = 0; i < batch.n_hidden; ++i) {
        std::memcpy(out.hidden + (static_cast<size_t>(i) * n_capture + k) * E, ws.x.data() + batch.hidden_rows[i] * E,
                    static_cast<size_t>(E) * sizeof(float));
      }
    }
  }

  if (batch.n_logits == 0) return;
  // Final norm and output projection, only for the rows whose logits are kept.
  for (int64_t i = 0; i < batch.n_logits; ++i) {
    rms_norm(ws.x.data() + batch.logit_rows[i] * E, w.output_norm, ws.cur.data() + i * E, E, c.rms_eps);
  }
  pass.project({{&w.output, out.logits, c.n_vocab}}, ws.cur.data(), batch.n_logits);
}

}  // namespace kestrel
