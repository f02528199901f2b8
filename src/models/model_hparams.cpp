// Model hyper-parameters: GGUF keys -> ModelConfig, every one checked
// (models/model_keys.h) and compared with the tensor shapes it implies.
//
// The order matters for the messages: the keys that size tensors directly
// (embedding_length, block_count, feed_forward_length, then head_count and
// key_length, then head_count_kv) are each checked against their tensor
// before any key derived from them is read, so a wrong embedding_length is
// reported as itself, not as an out-of-range rope.dimension_count.
#include <algorithm>
#include <cfloat>

#include "core/error.h"
#include "models/model.h"
#include "models/model_keys.h"

namespace kestrel {
namespace {

// Upper bounds far beyond any real model, so that a corrupted value is
// reported instead of driving a huge allocation.
constexpr int64_t kMaxWidth = int64_t{1} << 20;  // embedding and feed-forward sizes
constexpr int64_t kMaxLayers = 1 << 14;
constexpr int64_t kMaxHeads = 1 << 14;
constexpr int64_t kMaxHeadDim = 1 << 14;
constexpr int64_t kMaxContext = int64_t{1} << 30;

// Outputs (ne[1]) of a 2-D tensor, or -1 when it is absent or not 2-D.
int64_t outputs(const gguf::Reader& r, const char* name) {
  const gguf::TensorInfo* t = r.find_tensor(name);
  return t && t->ne.size() == 2 ? t->ne[1] : -1;
}

// 1 + the largest N of the tensors named blk.N.*.
int64_t count_blocks(const gguf::Reader& r) {
  int64_t n_blocks = 0;
  for (const auto& t : r.tensors()) {
    if (t.name.substr(0, 4) != "blk.") continue;
    const std::string_view rest = t.name.substr(4);
    int64_t n = 0;
    size_t i = 0;
    for (; i < rest.size() && i < 9 && rest[i] >= '0' && rest[i] <= '9'; ++i) n = n * 10 + (rest[i] - '0');
    if (i > 0 && i < rest.size() && rest[i] == '.') n_blocks = std::max(n_blocks, n + 1);
  }
  return n_blocks;
}

}  // namespace

void Model::load_config() {
  const gguf::Reader& r = *reader_;
  const KeyReader general(r, "general.");
  const std::string arch = general.optional_string("architecture", "");
  if (arch.empty()) throw Error(r.path() + ": missing general.architecture");
  arch_ = find_architecture(arch);
  if (!arch_) {
    throw Error(r.path() + ": unsupported architecture '" + arch + "' (general.architecture; kestrel runs: " +
                supported_architecture_list() + ")");
  }
  config_.arch = arch;
  config_.name = general.optional_string("name", "");
  const KeyReader k(r, arch + ".");
  read_sizes(k);
  read_heads(k);
  read_norm_and_rope(k);
  config_.rope_style = arch_->rope_style;
  config_.qkv_bias = arch_->qkv_bias;
}

void Model::read_sizes(const KeyReader& k) {
  const gguf::Reader& r = *reader_;
  ModelConfig& c = config_;
  const gguf::TensorInfo* emb = r.find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) throw Error(r.path() + ": missing or malformed token_embd.weight");
  c.n_embd = k.required_int("embedding_length", 1, kMaxWidth);
  if (emb->ne[0] != c.n_embd) k.fail("embedding_length", "token_embd.weight has rows of " + std::to_string(emb->ne[0]));
  c.n_layer = k.required_int("block_count", 1, kMaxLayers);
  if (const int64_t n = count_blocks(r); n != c.n_layer) {
    k.fail("block_count", "the file holds tensors for " + std::to_string(n) + " blocks");
  }
  c.n_ff = k.required_int("feed_forward_length", 1, kMaxWidth);
  if (const int64_t n = outputs(r, "blk.0.ffn_up.weight"); n >= 0 && n != c.n_ff) {
    k.fail("feed_forward_length", "blk.0.ffn_up.weight has " + std::to_string(n) + " outputs");
  }
  c.n_ctx_train = k.required_int("context_length", 1, kMaxContext);
}

void Model::read_heads(const KeyReader& k) {
  const gguf::Reader& r = *reader_;
  ModelConfig& c = config_;
  c.n_head = k.required_int("attention.head_count", 1, kMaxHeads);
  const bool explicit_len = k.has("attention.key_length");
  if (!explicit_len && c.n_embd % c.n_head != 0) {
    k.fail("attention.head_count", "must divide embedding_length (" + std::to_string(c.n_embd) +
                                       ") when attention.key_length is absent");
  }
  c.head_dim = k.optional_int("attention.key_length", c.n_embd / c.n_head, 1, kMaxHeadDim);
  const char* q_key = explicit_len ? "attention.key_length" : "attention.head_count";
  if (const int64_t n = outputs(r, "blk.0.attn_q.weight"); n >= 0 && n != c.q_dim()) {
    k.fail(q_key, "head_count x head size = " + std::to_string(c.q_dim()) + " but blk.0.attn_q.weight has " +
                      std::to_string(n) + " outputs");
  }
  const int64_t v_len = k.optional_int("attention.value_length", c.head_dim, 1, kMaxHeadDim);
  if (v_len != c.head_dim) {
    k.fail("attention.value_length", "must equal the key length (" + std::to_string(c.head_dim) +
                                         "): different K and V head sizes are not supported");
  }
  c.n_head_kv = k.optional_int("attention.head_count_kv", c.n_head, 1, c.n_head);
  if (c.n_head % c.n_head_kv != 0) {
    k.fail("attention.head_count_kv", "must divide attention.head_count (" + std::to_string(c.n_head) + ")");
  }
  if (const int64_t n = outputs(r, "blk.0.attn_k.weight"); n >= 0 && n != c.kv_dim()) {
    k.fail(k.has("attention.head_count_kv") ? "attention.head_count_kv" : q_key,
           "head_count_kv x head size = " + std::to_string(c.kv_dim()) + " but blk.0.attn_k.weight has " +
               std::to_string(n) + " outputs");
  }
}

void Model::read_norm_and_rope(const KeyReader& k) {
  ModelConfig& c = config_;
  // f32 is what the kernels use: a value that is only positive as a double
  // (or denormal as a float) is as useless as zero.
  c.rms_eps = static_cast<float>(k.optional_positive("attention.layer_norm_rms_epsilon", 1e-5, 0.0, 1.0));
  if (c.rms_eps < FLT_MIN) k.fail("attention.layer_norm_rms_epsilon", "too small for f32");
  c.n_rot = static_cast<int>(k.optional_int("rope.dimension_count", c.head_dim, 1, c.head_dim));
  if (c.n_rot % 2 != 0) k.fail("rope.dimension_count", "must be even");
  if (const gguf::TensorInfo* t = reader_->find_tensor("rope_freqs.weight"); t && t->n_elements() != c.n_rot / 2) {
    k.fail("rope.dimension_count", "rope_freqs.weight has " + std::to_string(t->n_elements()) +
                                       " factors, which needs " + std::to_string(2 * t->n_elements()));
  }
  c.rope_base = static_cast<float>(k.optional_positive("rope.freq_base", 10000.0, 0.0, 1e15));
  if (c.rope_base < FLT_MIN) k.fail("rope.freq_base", "too small for f32");
  const std::string scaling = k.optional_string("rope.scaling.type", "none");
  if (scaling != "none" && !scaling.empty() && scaling != "linear") {
    k.fail("rope.scaling.type", "not supported (kestrel knows none and linear)");
  }
  // llama.cpp reads the factor whatever the type and treats 0 as unset.
  const bool zero = k.has("rope.scaling.factor") && k.value_text("rope.scaling.factor") == "0";
  const double f = zero ? 1.0 : k.optional_positive("rope.scaling.factor", 1.0, 1e-6, 1e6);
  if (scaling == "linear") c.rope_freq_scale = static_cast<float>(1.0 / f);
}

void Model::check_vocab_size() const {
  const KeyReader k(*reader_, config_.arch + ".");
  const int64_t rows = reader_->find_tensor("token_embd.weight")->ne[1];
  if (k.has("vocab_size") && k.optional_int("vocab_size", 0, 1, INT32_MAX) != rows) {
    k.fail("vocab_size", "token_embd.weight has " + std::to_string(rows) + " rows");
  }
}

}  // namespace kestrel
