// The interface every architecture's forward pass implements: a batch of
// tokens from many sequences (each with its position, its sequence's run
// of KV slots, and what to output), the paged KV cache to read and write,
// a preallocated workspace, and where the outputs go.
//
// The engine (runtime/engine.h) prepares all of it: it validates the batch,
// makes the KV slots writable, builds the attention runs; a forward pass
// only computes. It allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kv/kv_cache.h"
#include "tokenizer/tokenizer.h"

namespace kestrel {

class Model;

// Sees the input rows of every matrix product before it runs (used by
// `kestrel imatrix` to accumulate per-column sums of squares). Called on the
// decoding thread; x holds n_tok rows of w.n_in floats.
class MatmulObserver {
 public:
  virtual ~MatmulObserver() = default;
  virtual void observe(const WeightMatrix& w, const float* x, int64_t n_tok) = 0;
};

// Where a forward pass spends its time, summed over calls while profiling
// is on (`kestrel bench --split`): the matrix products (activation
// conversion, kernels, dispatch) with the weight bytes they stream,
// attention with the K/V bytes it reads (the slots each row sees), and the
// rest (embedding, norms, RoPE, the K/V store, logits copy). Only a clock
// read per product or attention call is added.
struct PhaseProfile {
  double total_s = 0, matmul_s = 0, attention_s = 0;
  double matmul_bytes = 0, kv_bytes = 0;
  int64_t tokens = 0;
  double other_s() const { return total_s - matmul_s - attention_s; }
};

struct ForwardBatch {
  int64_t n_tok = 0;
  const TokenId* tokens = nullptr;
  const int32_t* pos = nullptr;         // RoPE position of each token
  std::span<const AttentionRun> runs;   // cover rows [0, n_tok) in order
  const int32_t* logit_rows = nullptr;  // rows whose logits are wanted, ascending
  int64_t n_logits = 0;
  const int32_t* hidden_rows = nullptr; // rows whose hidden states are wanted, ascending
  int64_t n_hidden = 0;
};

struct ForwardOutputs {
  float* logits = nullptr;            // [n_logits][n_vocab]
  float* hidden = nullptr;            // [n_hidden][capture_layers.size()][n_embd]
  std::span<const int> capture_layers;  // residual stream after these layers (0-based)
};

struct ForwardEnv {
  ThreadPool* pool = nullptr;
  KernelPath path = KernelPath::Auto;
  MatmulObserver* observer = nullptr;
  PhaseProfile* profile = nullptr;  // null: not profiling
};

// Activation buffers for batches of up to n_batch tokens, sized once.
struct Workspace {
  Workspace(const Model& model, int64_t n_batch, int64_t max_slots, int n_threads);
  int64_t n_batch;
  std::vector<float> x;        // [n_batch, n_embd] residual stream
  std::vector<float> cur;      // [n_batch, max(n_embd, q_dim)] normed input / attention output
  std::vector<float> q;        // [n_batch, q_dim]
  std::vector<float> k;        // [n_batch, kv_dim]
  std::vector<float> v;        // [n_batch, kv_dim]
  std::vector<float> gate;     // [n_batch, n_ff]
  std::vector<float> up;       // [n_batch, n_ff]
  std::vector<float> rope_cos, rope_sin;  // [n_batch, n_rot/2]
  std::vector<uint8_t> act;    // converted activations for matmul
  AttentionWorkspace attention;
  size_t bytes() const;
};

using ForwardFn = void (*)(const Model& model, const ForwardBatch& batch, const KvCache& kv, Workspace& ws,
                           const ForwardOutputs& out, const ForwardEnv& env);

}  // namespace kestrel
