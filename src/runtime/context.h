// The one-sequence facade over the engine: what `run`, `logits`, `bench`,
// `perplexity` and `imatrix` use.
//
// decode() appends tokens at the current position (prefill when given many,
// a decode step when given one, in chunks of n_batch) and leaves logits for
// the last token, or for every token when asked. The engine under it owns
// the thread pool, a paged KV cache of n_ctx positions and every buffer,
// so decoding allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/engine.h"

namespace kestrel {

struct ContextParams {
  int64_t n_ctx = 0;        // 0: min(4096, trained context)
  // An n_ctx past the model's trained context is an error unless this is
  // set (perplexity and bench, which warn, as llama.cpp's tools do).
  bool allow_beyond_trained = false;
  int n_threads = 0;        // 0: default_thread_count()
  int64_t n_batch = 512;    // tokens per forward chunk
  KernelPath path = KernelPath::Auto;
};

class Context {
 public:
  Context(const Model& model, const ContextParams& params);

  const Model& model() const { return engine_.model(); }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return engine_.seq_length(seq_); }
  int n_threads() const { return engine_.n_threads(); }
  Engine& engine() { return engine_; }

  // Evaluates `tokens` at positions n_past()...; throws kestrel::Error,
  // before evaluating any of them, when they do not fit in the context or
  // a token id is out of range. all_logits: keep logits for every token
  // (else only the last).
  void decode(std::span<const TokenId> tokens, bool all_logits);

  // Logits of output i of the last decode (i = 0 when only the last kept).
  const float* logits(int64_t i = 0) const;
  int64_t n_outputs() const { return n_outputs_; }

  // Forgets all positions (the cache memory is reused).
  void clear() { engine_.seq_truncate(seq_, 0); }

  // Forgets the positions from n on (n <= n_past()): a later decode
  // continues from there as if the forgotten tokens had never been
  // evaluated.
  void truncate(int64_t n) { engine_.seq_truncate(seq_, n); }

  void set_matmul_observer(MatmulObserver* obs) { engine_.set_matmul_observer(obs); }
  void set_profiling(bool on) { engine_.set_profiling(on); }
  const PhaseProfile& profile() const { return engine_.profile(); }

 private:
  int64_t n_ctx_;
  Engine engine_;
  int32_t seq_;
  Batch batch_;
  int64_t n_outputs_ = 0;
  int64_t first_row_ = 0;            // engine batch row of output 0 (single-chunk outputs)
  bool gathered_ = false;            // outputs of several chunks, copied into all_logits_
  std::vector<float> all_logits_;
};

}  // namespace kestrel
