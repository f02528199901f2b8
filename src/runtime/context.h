// An inference context: one sequence's KV cache, preallocated activations,
// a thread pool, and the forward pass entry point.
//
// decode() appends tokens at the current position (prefill when given many,
// a decode step when given one) and leaves logits for the last token, or for
// every token when asked. All buffers are sized at construction for n_batch
// tokens, so decoding allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace kestrel {

// Sees the input rows of every matrix product before it runs (used by
// `kestrel imatrix` to accumulate per-column sums of squares). Called on the
// decoding thread; x holds n_tok rows of w.n_in floats.
class MatmulObserver {
 public:
  virtual ~MatmulObserver() = default;
  virtual void observe(const WeightMatrix& w, const float* x, int64_t n_tok) = 0;
};

// Where decode() spends its time, summed over calls while profiling is on
// (Context::set_profiling; `kestrel bench --split`): the matrix products
// (activation conversion, kernels, dispatch) with the weight bytes they
// stream, attention with the K/V bytes it reads (cache rows up to each
// token's position), and the rest (embedding, norms, RoPE, the K/V store,
// logits copy). Only a clock read per product or attention call is added.
struct PhaseProfile {
  double total_s = 0, matmul_s = 0, attention_s = 0;
  double matmul_bytes = 0, kv_bytes = 0;
  int64_t tokens = 0;
  double other_s() const { return total_s - matmul_s - attention_s; }
};

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

  const Model& model() const { return model_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  int n_threads() const { return pool_.size(); }

  // Evaluates `tokens` at positions n_past()...; throws kestrel::Error when
  // they do not fit in the context or a token id is out of range.
  // all_logits: keep logits for every token (else only the last).
  void decode(std::span<const TokenId> tokens, bool all_logits);

  // Logits of output i of the last decode (i = 0 when only the last kept).
  const float* logits(int64_t i = 0) const { return logits_.data() + i * model_.config().n_vocab; }
  int64_t n_outputs() const { return n_outputs_; }

  // Forgets all positions (the cache memory is reused).
  void clear() { n_past_ = 0; }

  // Forgets the positions from n on (n <= n_past()): the cache keeps what
  // positions 0..n-1 wrote, so a later decode continues from there as if
  // the forgotten tokens had never been evaluated.
  void truncate(int64_t n);

  // Installs (or removes, with nullptr) an observer of matrix-product inputs.
  void set_matmul_observer(MatmulObserver* obs) { observer_ = obs; }

  // Turns the PhaseProfile on or off; turning it on clears it.
  void set_profiling(bool on) {
    profiling_ = on;
    profile_ = PhaseProfile{};
  }
  const PhaseProfile& profile() const { return profile_; }

 private:
  void forward_chunk(const TokenId* tokens, int64_t n_tok, bool all_logits, int64_t out_offset);
  // matmul_group() plus the observer hook.
  void project(std::initializer_list<MatmulOp> ops, const float* x, int64_t n_tok,
               Epilogue epilogue = Epilogue::None);

  const Model& model_;
  ContextParams params_;
  int64_t n_ctx_;
  int64_t n_batch_;
  int64_t n_past_ = 0;
  ThreadPool pool_;
  KvCache kv_;
  // Activations for one chunk of up to n_batch tokens (shape in comments).
  std::vector<float> x_;       // [n_batch, n_embd] residual stream
  std::vector<float> cur_;     // [n_batch, max(n_embd, q_dim)] normed input / attention output
  std::vector<float> q_;       // [n_batch, q_dim]
  std::vector<float> k_;       // [n_batch, kv_dim]
  std::vector<float> v_;       // [n_batch, kv_dim]
  std::vector<float> gate_;    // [n_batch, n_ff]
  std::vector<float> up_;      // [n_batch, n_ff]
  std::vector<float> att_scratch_;
  std::vector<float> rope_cos_, rope_sin_;  // [n_batch, n_rot/2]
  std::vector<uint8_t> act_;   // converted activations for matmul
  std::vector<float> logits_;  // [n_outputs, n_vocab]
  int64_t n_outputs_ = 0;
  MatmulObserver* observer_ = nullptr;
  bool profiling_ = false;
  PhaseProfile profile_;
};

}  // namespace kestrel
