// The inference engine: one model, one thread pool, one paged KV cache
// shared by many sequences, and the forward pass over batches of their
// tokens.
//
// decode(batch) validates the whole batch first (token ids, sequence ids,
// one run per sequence, positions, tree links, KV memory) and throws
// kestrel::Error before changing anything when it is wrong; then it makes
// the KV slots writable, runs the architecture's forward pass (weights read
// once for every token of the batch) and appends the tokens to their
// sequences. A sequence's results do not depend on what else is in the
// batch (kernels/attention.h, and the matrix kernels' per-row order).
// Everything is sized at construction: a decode step allocates nothing,
// except the logits buffer the first time a batch asks for more logits
// than ever before.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kv/kv_cache.h"
#include "models/forward.h"
#include "models/model.h"
#include "runtime/batch.h"

namespace kestrel {

struct EngineParams {
  int64_t n_ctx = 0;          // positions over all sequences (llama-server's -c); 0: min(4096, trained) per sequence
  int n_seq_max = 1;          // sequences at once (--parallel)
  int64_t n_ctx_seq = 0;      // positions one sequence may hold; 0: min(n_ctx, trained context)
  // A sequence longer than the trained context is an error unless this is
  // set (perplexity and bench, which warn, as llama.cpp's tools do).
  bool allow_beyond_trained = false;
  int64_t n_batch = 512;      // tokens per forward pass at most
  int n_threads = 0;          // 0: default_thread_count()
  KernelPath path = KernelPath::Auto;
  bool prefix_cache = false;
  const KvFormat* kv_format = nullptr;  // null: f16
  int page_slots = 64;
  std::vector<int> capture_layers;      // hidden states after these layers (kOutputHidden)
};

class Engine {
 public:
  Engine(const Model& model, const EngineParams& params);

  const Model& model() const { return model_; }
  int n_threads() const { return pool_.size(); }
  int64_t n_batch() const { return n_batch_; }
  int64_t n_ctx() const { return kv_.n_slots(); }
  int64_t n_ctx_seq() const { return kv_.max_seq_slots(); }
  const KvCache& kv() const { return kv_; }
  ThreadPool& pool() { return pool_; }

  // Sequences (kv/kv_cache.h).
  int32_t seq_new() { return kv_.seq_new(); }
  int32_t seq_fork(int32_t src) { return kv_.seq_fork(src); }
  void seq_free(int32_t s) { kv_.seq_free(s); }
  void seq_truncate(int32_t s, int64_t n) { kv_.seq_truncate(s, n); }
  int64_t seq_length(int32_t s) const { return kv_.seq_length(s); }
  // The accepted path of a tree: slots[j] becomes position base + j.
  void seq_keep(int32_t s, int64_t base, std::span<const int64_t> slots) { kv_.keep_slots(s, base, slots); }
  // Maps the prefix cache's pages for the start of `prompt` into the empty
  // sequence s; returns how many of its tokens are already computed.
  int64_t seq_attach_prefix(int32_t s, std::span<const TokenId> prompt) { return kv_.attach_prefix(s, prompt); }

  void decode(const Batch& batch);

  // Outputs of the last decode, by batch index.
  const float* logits(int64_t i) const;
  const float* hidden(int64_t i, int capture) const;  // capture: index into capture_layers

  void set_matmul_observer(MatmulObserver* obs) { observer_ = obs; }
  // Turns the PhaseProfile on or off; turning it on clears it.
  void set_profiling(bool on) {
    profiling_ = on;
    profile_ = PhaseProfile{};
  }
  const PhaseProfile& profile() const { return profile_; }

 private:
  struct RunInfo {
    int32_t seq;
    int64_t row0, n_rows;
    bool tree;
  };
  void check_batch(const Batch& b);
  void build_masks(const Batch& b);

  const Model& model_;
  EngineParams params_;
  int64_t n_batch_;
  ThreadPool pool_;
  KvCache kv_;
  Workspace ws_;
  std::vector<RunInfo> run_info_;
  std::vector<AttentionRun> runs_;
  std::vector<uint64_t> masks_;     // [n_batch][mask_words_]
  int64_t mask_words_;
  std::vector<uint32_t> seq_seen_;  // generation stamp per sequence id (one run each)
  uint32_t generation_ = 0;
  std::vector<int32_t> logit_rows_, hidden_rows_;
  std::vector<int32_t> logit_index_, hidden_index_;  // batch row -> output row, -1: none
  std::vector<float> logits_;
  std::vector<float> hidden_;
  MatmulObserver* observer_ = nullptr;
  bool profiling_ = false;
  PhaseProfile profile_;
};

}  // namespace kestrel
