// Workspace sizing (forward.h): every activation buffer of the llama-family
// forward pass for n_batch tokens, the matmul conversion scratch for its
// largest product group, and attention's scratch.
#include <algorithm>

#include "models/forward.h"
#include "models/model.h"

namespace kestrel {
namespace {

AttentionShape attention_shape(const ModelConfig& c) {
  return {static_cast<int>(c.n_head), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim)};
}

}  // namespace

Workspace::Workspace(const Model& model, int64_t n_batch_, int64_t max_slots, int n_threads)
    : n_batch(n_batch_), attention(attention_shape(model.config()), n_batch_, max_slots, n_threads) {
  const ModelConfig& c = model.config();
  const auto nb = static_cast<size_t>(n_batch);
  x.resize(nb * c.n_embd);
  cur.resize(nb * std::max(c.n_embd, c.q_dim()));
  q.resize(nb * c.q_dim());
  k.resize(nb * c.kv_dim());
  v.resize(nb * c.kv_dim());
  gate.resize(nb * c.n_ff);
  up.resize(nb * c.n_ff);
  rope_cos.resize(nb * (c.n_rot / 2));
  rope_sin.resize(nb * (c.n_rot / 2));
  size_t a = 0;
  const ModelWeights& w = model.weights();
  for (const LayerWeights& L : w.layers) {
    a = std::max(a, matmul_scratch_bytes({&L.wq, &L.wk, &L.wv}, n_batch));
    a = std::max(a, matmul_scratch_bytes({&L.wo}, n_batch));
    a = std::max(a, matmul_scratch_bytes({&L.w_gate, &L.w_up}, n_batch));
    a = std::max(a, matmul_scratch_bytes({&L.w_down}, n_batch));
  }
  a = std::max(a, matmul_scratch_bytes({&w.output}, n_batch));
  act.resize(a);
}

size_t Workspace::bytes() const {
  const size_t floats = x.size() + cur.size() + q.size() + k.size() + v.size() + gate.size() + up.size() +
                        rope_cos.size() + rope_sin.size();
  return floats * sizeof(float) + act.size() + attention.bytes();
}

}  // namespace kestrel
