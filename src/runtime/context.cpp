// Context construction and the token-level decode loop (context.h). The
// per-chunk forward pass itself lives with the models (models/decoder.cpp).
#include "runtime/context.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "kernels/attention.h"

namespace kestrel {
namespace {

// Beyond the trained context only when the caller allows it (perplexity and
// bench, which warn); the f16 K and V cache must also fit in this machine's
// memory, so a huge -c or -d is a clear error rather than std::bad_alloc.
int64_t pick_n_ctx(const ModelConfig& c, const ContextParams& p) {
  const int64_t requested = p.n_ctx;
  if (requested < 0) throw Error("context size must be positive, got " + std::to_string(requested));
  if (requested == 0) return std::min<int64_t>(4096, c.n_ctx_train);
  if (requested > c.n_ctx_train && !p.allow_beyond_trained) {
    throw Error("context size " + std::to_string(requested) + " exceeds the model's trained context (" +
                std::to_string(c.n_ctx_train) + ")");
  }
  const double kv_bytes = 2.0 * 2.0 * static_cast<double>(c.n_layer) * static_cast<double>(c.kv_dim()) *
                          static_cast<double>(requested);
  const double ram = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (ram > 0 && kv_bytes > ram) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "a context of %lld positions needs a %.1f GiB KV cache, more than this machine's %.1f GiB of memory",
                  static_cast<long long>(requested), kv_bytes / (1u << 30), ram / (1u << 30));
    throw Error(buf);
  }
  return requested;
}

}  // namespace

Context::Context(const Model& model, const ContextParams& params)
    : model_(model),
      params_(params),
      n_ctx_(pick_n_ctx(model.config(), params)),
      n_batch_(std::max<int64_t>(1, std::min(params.n_batch, n_ctx_))),
      pool_(params.n_threads > 0 ? params.n_threads : default_thread_count()),
      // Capacity rounded up to whole 8-position blocks (attention's layout).
      kv_(model.config().n_layer, (n_ctx_ + 7) / 8 * 8, model.config().kv_dim()) {
  const ModelConfig& c = model.config();
  const auto nb = static_cast<size_t>(n_batch_);
  x_.resize(nb * c.n_embd);
  cur_.resize(nb * std::max(c.n_embd, c.q_dim()));
  q_.resize(nb * c.q_dim());
  k_.resize(nb * c.kv_dim());
  v_.resize(nb * c.kv_dim());
  gate_.resize(nb * c.n_ff);
  up_.resize(nb * c.n_ff);
  rope_cos_.resize(nb * (c.n_rot / 2));
  rope_sin_.resize(nb * (c.n_rot / 2));
  const AttentionShape shape{static_cast<int>(c.n_head), static_cast<int>(c.n_head_kv),
                             static_cast<int>(c.head_dim)};
  att_scratch_.resize(static_cast<size_t>(attention_scratch_floats(kv_.n_ctx(), shape, pool_.size())));
  // Scratch for the largest group of products the forward pass runs.
  size_t act = 0;
  const ModelWeights& w = model.weights();
  for (const LayerWeights& L : w.layers) {
    act = std::max(act, matmul_scratch_bytes({&L.wq, &L.wk, &L.wv}, n_batch_));
    act = std::max(act, matmul_scratch_bytes({&L.wo}, n_batch_));
    act = std::max(act, matmul_scratch_bytes({&L.w_gate, &L.w_up}, n_batch_));
    act = std::max(act, matmul_scratch_bytes({&L.w_down}, n_batch_));
  }
  act = std::max(act, matmul_scratch_bytes({&w.output}, n_batch_));
  act_.resize(act);
  logits_.resize(static_cast<size_t>(c.n_vocab));
}

void Context::truncate(int64_t n) {
  if (n < 0 || n > n_past_) {
    throw Error("truncate: position " + std::to_string(n) + " outside 0.." + std::to_string(n_past_));
  }
  n_past_ = n;
}

void Context::decode(std::span<const TokenId> tokens, bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error("decode: no tokens");
  if (n_past_ + n > n_ctx_) {
    throw Error("the prompt and generation need " + std::to_string(n_past_ + n) +
                " positions but the context holds " + std::to_string(n_ctx_) +
                " (raise -c, up to the model's trained context " +
                std::to_string(model_.config().n_ctx_train) + ")");
  }
  const int64_t n_vocab = model_.config().n_vocab;
  for (TokenId t : tokens) {
    if (t < 0 || t >= n_vocab) {
      throw Error("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                  std::to_string(n_vocab - 1) + ")");
    }
  }
  n_outputs_ = all_logits ? n : 1;
  // Growing only when a caller asks for more logits than ever before keeps
  // single-token decoding allocation-free.
  if (logits_.size() < static_cast<size_t>(n_outputs_ * n_vocab)) {
    logits_.resize(static_cast<size_t>(n_outputs_ * n_vocab));
  }
  const auto t0 = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  for (int64_t b = 0; b < n; b += n_batch_) {
    const int64_t len = std::min(n_batch_, n - b);
    const bool last_chunk = b + len == n;
    if (all_logits) {
      forward_chunk(tokens.data() + b, len, true, b);
    } else {
      forward_chunk(tokens.data() + b, len, false, last_chunk ? 0 : -1);
    }
  }
  if (profiling_) {
    profile_.total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    profile_.tokens += n;
  }
}

}  // namespace kestrel
