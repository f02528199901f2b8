// The one-sequence facade (context.h).
#include "runtime/context.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace kestrel {
namespace {

int64_t pick_n_ctx(const ModelConfig& c, const ContextParams& p) {
  if (p.n_ctx < 0) throw Error("context size must be positive, got " + std::to_string(p.n_ctx));
  return p.n_ctx == 0 ? std::min<int64_t>(4096, c.n_ctx_train) : p.n_ctx;
}

EngineParams engine_params(const Model& m, const ContextParams& p) {
  EngineParams e;
  e.n_ctx = pick_n_ctx(m.config(), p);
  e.n_ctx_seq = e.n_ctx;
  e.n_seq_max = 1;
  e.allow_beyond_trained = p.allow_beyond_trained;
  e.n_batch = p.n_batch;
  e.n_threads = p.n_threads;
  e.path = p.path;
  return e;
}

}  // namespace

Context::Context(const Model& model, const ContextParams& params)
    : n_ctx_(pick_n_ctx(model.config(), params)),
      engine_(model, engine_params(model, params)),
      seq_(engine_.seq_new()),
      batch_(engine_.n_batch()) {}

void Context::decode(std::span<const TokenId> tokens, bool all_logits) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error("decode: no tokens");
  const int64_t past = n_past();
  if (past + n > n_ctx_) {
    throw Error("the prompt and generation need " + std::to_string(past + n) + " positions but the context holds " +
                std::to_string(n_ctx_) + " (raise -c, up to the model's trained context " +
                std::to_string(model().config().n_ctx_train) + ")");
  }
  // Every token is checked before the first chunk runs, so a bad id never
  // leaves the sequence half-extended.
  const int64_t n_vocab = model().config().n_vocab;
  for (TokenId t : tokens) {
    if (t < 0 || t >= n_vocab) {
      throw Error("token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
    }
  }
  const int64_t nb = engine_.n_batch();
  n_outputs_ = all_logits ? n : 1;
  gathered_ = all_logits && n > nb;
  if (gathered_ && all_logits_.size() < static_cast<size_t>(n * n_vocab)) all_logits_.resize(static_cast<size_t>(n * n_vocab));
  for (int64_t b = 0; b < n; b += nb) {
    const int64_t len = std::min(nb, n - b);
    const bool last_chunk = b + len == n;
    batch_.clear();
    for (int64_t i = 0; i < len; ++i) {
      const bool out = all_logits || (last_chunk && i == len - 1);
      batch_.add(tokens[static_cast<size_t>(b + i)], seq_, static_cast<int32_t>(past + b + i), out ? kOutputLogits : kOutputNone);
    }
    engine_.decode(batch_);
    if (gathered_) {
      for (int64_t i = 0; i < len; ++i) {
        std::memcpy(all_logits_.data() + (b + i) * n_vocab, engine_.logits(i), static_cast<size_t>(n_vocab) * sizeof(float));
      }
    }
    first_row_ = all_logits ? 0 : len - 1;
  }
}

const float* Context::logits(int64_t i) const {
  if (i < 0 || i >= n_outputs_) throw Error("logits: output " + std::to_string(i) + " was not kept");
  if (gathered_) return all_logits_.data() + i * model().config().n_vocab;
  return engine_.logits(first_row_ + i);
}

}  // namespace kestrel
