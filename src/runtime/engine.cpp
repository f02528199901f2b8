// The engine (engine.h): batch validation, KV preparation, the forward call
// and the outputs.
#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "core/error.h"

namespace kestrel {
namespace {

int64_t total_slots(const ModelConfig& c, const EngineParams& p) {
  if (p.n_ctx < 0) throw Error("context size must be positive, got " + std::to_string(p.n_ctx));
  return p.n_ctx == 0 ? std::min<int64_t>(4096, c.n_ctx_train) : p.n_ctx;
}

int64_t seq_slots(const ModelConfig& c, const EngineParams& p, int64_t n_ctx) {
  if (p.n_ctx_seq < 0) throw Error("sequence context size must be positive, got " + std::to_string(p.n_ctx_seq));
  const int64_t n = p.n_ctx_seq == 0 ? std::min(n_ctx, c.n_ctx_train) : std::min(p.n_ctx_seq, n_ctx);
  if (n > c.n_ctx_train && !p.allow_beyond_trained) {
    throw Error("context size " + std::to_string(n) + " exceeds the model's trained context (" +
                std::to_string(c.n_ctx_train) + ")");
  }
  return n;
}

KvCacheParams cache_params(const Model& m, const EngineParams& p) {
  const ModelConfig& c = m.config();
  KvCacheParams k;
  k.geometry = {c.n_layer, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim)};
  k.format = p.kv_format;
  k.page_slots = p.page_slots;
  k.n_slots = total_slots(c, p);
  k.max_seqs = p.n_seq_max;
  k.max_seq_slots = seq_slots(c, p, k.n_slots);
  k.prefix_cache = p.prefix_cache;
  return k;
}

std::string seq_str(int32_t s) { return "sequence " + std::to_string(s); }

}  // namespace

Engine::Engine(const Model& model, const EngineParams& params)
    : model_(model),
      params_(params),
      n_batch_(std::max<int64_t>(1, std::min(params.n_batch, total_slots(model.config(), params)))),
      pool_(params.n_threads > 0 ? params.n_threads : default_thread_count()),
      kv_(cache_params(model, params)),
      ws_(model, n_batch_, kv_.max_seq_slots(), pool_.size()),
      mask_words_((n_batch_ + 63) / 64) {
  for (int l : params.capture_layers) {
    if (l < 0 || l >= model.config().n_layer) {
      throw Error("capture layer " + std::to_string(l) + " outside 0.." + std::to_string(model.config().n_layer - 1));
    }
  }
  const auto nb = static_cast<size_t>(n_batch_);
  run_info_.reserve(nb);
  runs_.reserve(nb);
  masks_.resize(nb * static_cast<size_t>(mask_words_));
  seq_seen_.assign(static_cast<size_t>(params.n_seq_max), 0);
  logit_rows_.reserve(nb);
  hidden_rows_.reserve(nb);
  logit_index_.assign(nb, -1);
  hidden_index_.assign(nb, -1);
  logits_.resize(static_cast<size_t>(model.config().n_vocab));
}

void Engine::check_batch(const Batch& b) {
  const int64_t n = b.size();
  if (n == 0) throw Error("decode: empty batch");
  if (n > n_batch_) {
    throw Error("decode: a batch of " + std::to_string(n) + " tokens exceeds n_batch (" + std::to_string(n_batch_) + ")");
  }
  const int64_t n_vocab = model_.config().n_vocab;
  if (++generation_ == 0) {
    std::fill(seq_seen_.begin(), seq_seen_.end(), 0);
    generation_ = 1;
  }
  run_info_.clear();
  for (int64_t i = 0; i < n; ++i) {
    const TokenId t = b.token(i);
    if (t < 0 || t >= n_vocab) {
      throw Error("token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
    }
    const int32_t s = b.seq(i);
    if (!kv_.seq_live(s)) throw Error("decode: " + seq_str(s) + " does not exist");
    if ((b.outputs(i) & kOutputHidden) && params_.capture_layers.empty()) {
      throw Error("decode: hidden states asked for, but the engine captures no layer");
    }
    if (!run_info_.empty() && run_info_.back().seq == s) {
      ++run_info_.back().n_rows;
    } else {
      if (seq_seen_[static_cast<size_t>(s)] == generation_) {
        throw Error("decode: the tokens of " + seq_str(s) + " must be consecutive in the batch");
      }
      seq_seen_[static_cast<size_t>(s)] = generation_;
      run_info_.push_back({s, i, 1, false});
    }
    if (b.is_tree(i)) run_info_.back().tree = true;
  }
  for (const RunInfo& r : run_info_) {
    const int64_t len = kv_.seq_length(r.seq);
    if (len + r.n_rows > kv_.max_seq_slots()) {
      throw Error("the prompt and generation need " + std::to_string(len + r.n_rows) + " positions but the context holds " +
                  std::to_string(kv_.max_seq_slots()) + " (raise -c, up to the model's trained context " +
                  std::to_string(model_.config().n_ctx_train) + ")");
    }
    for (int64_t i = 0; i < r.n_rows; ++i) {
      const int64_t row = r.row0 + i;
      const int32_t pos = b.pos(row);
      if (!r.tree && pos != len + i) {
        throw Error("decode: token " + std::to_string(row) + " of " + seq_str(r.seq) + " is at position " +
                    std::to_string(pos) + ", expected " + std::to_string(len + i) +
                    " (plain tokens continue their sequence; candidate trees use add_tree)");
      }
      if (pos < 0) throw Error("decode: negative position");
      for (int32_t j : b.sees(row)) {
        if (j < r.row0 || j >= row) {
          throw Error("decode: tree token " + std::to_string(row) + " may only see earlier tokens of its own sequence");
        }
      }
    }
  }
}

void Engine::build_masks(const Batch& b) {
  for (size_t k = 0; k < run_info_.size(); ++k) {
    const RunInfo& r = run_info_[k];
    if (!r.tree) continue;
    uint64_t* m = masks_.data() + r.row0 * mask_words_;
    for (int64_t i = 0; i < r.n_rows; ++i) {
      uint64_t* row = m + i * mask_words_;
      std::fill(row, row + mask_words_, 0);
      auto set = [&](int64_t j) { row[j / 64] |= uint64_t{1} << (j % 64); };
      set(i);
      if (b.is_tree(r.row0 + i)) {
        for (int32_t j : b.sees(r.row0 + i)) set(j - r.row0);
      } else {
        for (int64_t j = 0; j < i; ++j) set(j);  // a plain token sees everything before it
      }
    }
    runs_[k].mask = m;
    runs_[k].mask_words = mask_words_;
  }
}

void Engine::decode(const Batch& b) {
  check_batch(b);
  int64_t need = 0;
  for (const RunInfo& r : run_info_) need += kv_.pages_for_append(r.seq, r.n_rows);
  if (need > kv_.pages_available()) {
    throw Error("KV cache full: the batch needs " + std::to_string(need) + " more pages of " +
                std::to_string(kv_.page_slots()) + " positions, " + std::to_string(kv_.pages_available()) + " of " +
                std::to_string(kv_.n_pages()) + " are free (raise -c)");
  }
  for (const RunInfo& r : run_info_) kv_.prepare_append(r.seq, r.n_rows);

  runs_.clear();
  for (const RunInfo& r : run_info_) {
    AttentionRun a;
    a.pages = kv_.page_table(r.seq);
    a.row0 = r.row0;
    a.n_rows = r.n_rows;
    a.slot0 = kv_.seq_length(r.seq);
    runs_.push_back(a);
  }
  build_masks(b);

  const int64_t n = b.size();
  logit_rows_.clear();
  hidden_rows_.clear();
  for (int64_t i = 0; i < n; ++i) {
    logit_index_[static_cast<size_t>(i)] = -1;
    hidden_index_[static_cast<size_t>(i)] = -1;
    if (b.outputs(i) & kOutputLogits) {
      logit_index_[static_cast<size_t>(i)] = static_cast<int32_t>(logit_rows_.size());
      logit_rows_.push_back(static_cast<int32_t>(i));
    }
    if (b.outputs(i) & kOutputHidden) {
      hidden_index_[static_cast<size_t>(i)] = static_cast<int32_t>(hidden_rows_.size());
      hidden_rows_.push_back(static_cast<int32_t>(i));
    }
  }
  const ModelConfig& c = model_.config();
  const size_t want_logits = logit_rows_.size() * static_cast<size_t>(c.n_vocab);
  if (logits_.size() < want_logits) logits_.resize(want_logits);
  const size_t want_hidden = hidden_rows_.size() * params_.capture_layers.size() * static_cast<size_t>(c.n_embd);
  if (hidden_.size() < want_hidden) hidden_.resize(want_hidden);

  ForwardBatch fb;
  fb.n_tok = n;
  fb.tokens = b.tokens();
  fb.pos = b.positions();
  fb.runs = runs_;
  fb.logit_rows = logit_rows_.data();
  fb.n_logits = static_cast<int64_t>(logit_rows_.size());
  fb.hidden_rows = hidden_rows_.data();
  fb.n_hidden = static_cast<int64_t>(hidden_rows_.size());
  ForwardOutputs out;
  out.logits = logits_.data();
  out.hidden = hidden_.data();
  out.capture_layers = params_.capture_layers;
  ForwardEnv env;
  env.pool = &pool_;
  env.path = params_.path;
  env.observer = observer_;
  env.profile = profiling_ ? &profile_ : nullptr;
  const auto t0 = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  model_.arch().forward(model_, fb, kv_, ws_, out, env);
  if (profiling_) {
    profile_.total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    profile_.tokens += n;
  }

  for (const RunInfo& r : run_info_) {
    kv_.commit_append(r.seq, {b.tokens() + r.row0, static_cast<size_t>(r.n_rows)}, b.positions() + r.row0);
    if (kv_.prefix_cache_enabled()) kv_.publish(r.seq);
  }
}

const float* Engine::logits(int64_t i) const {
  if (i < 0 || i >= n_batch_ || logit_index_[static_cast<size_t>(i)] < 0) {
    throw Error("logits: batch token " + std::to_string(i) + " did not ask for logits");
  }
  return logits_.data() + static_cast<size_t>(logit_index_[static_cast<size_t>(i)]) * model_.config().n_vocab;
}

const float* Engine::hidden(int64_t i, int capture) const {
  if (i < 0 || i >= n_batch_ || hidden_index_[static_cast<size_t>(i)] < 0) {
    throw Error("hidden: batch token " + std::to_string(i) + " did not ask for hidden states");
  }
  if (capture < 0 || capture >= static_cast<int>(params_.capture_layers.size())) throw Error("hidden: no such capture layer");
  const size_t row = static_cast<size_t>(hidden_index_[static_cast<size_t>(i)]);
  return hidden_.data() + (row * params_.capture_layers.size() + static_cast<size_t>(capture)) * model_.config().n_embd;
}

}  // namespace kestrel
