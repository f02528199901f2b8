// SamplerChain: builds llama.cpp's chain from SamplingParams and runs it on
// rows of logits with the sorting-free RowEngine.
//
// Running a row: edits (logit bias, penalties, DRY) are applied to a copy of
// the row only when there are any. top-k and min-p shrink the candidate set
// at once. top-p is left pending: its total mass is recorded and the final
// draw does rejection sampling against it, so its set is never built. A
// pending top-p is resolved into an explicit set only when a later sampler
// needs the candidates themselves (typical, XTC, dynamic temperature, an
// edit, a temperature followed by more filters, another top-p).
#include <chrono>
#include <cmath>
#include <random>
#include <string>

#include "core/error.h"
#include "sampling/chain_internal.h"
#include "sampling/sampling_math.h"

namespace kestrel {

using sampling::PendingTopP;
using sampling::RowEngine;
using sampling::Rng;

namespace {

uint32_t resolve_seed(uint32_t seed) {
  if (seed != kRandomSeed) return seed;
  std::random_device rd;
  const uint32_t r = rd.entropy() > 0 ? rd() : 0u;
  return r ^ static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

bool stage_active(const SamplingParams& p, SamplerType t) {
  switch (t) {
    case SamplerType::Penalties:
      return p.penalty_last_n != 0 &&
             !(p.penalty_repeat == 1.0f && p.penalty_freq == 0.0f && p.penalty_present == 0.0f);
    case SamplerType::Dry:
      return p.dry_multiplier != 0.0f && p.dry_base >= 1.0f && p.dry_penalty_last_n != 0;
    case SamplerType::TopNSigma: return p.top_n_sigma > 0.0f;
    case SamplerType::TopK: return p.top_k > 0;
    case SamplerType::TypicalP: return p.typical_p < 1.0f;
    case SamplerType::TopP: return p.top_p < 1.0f;
    case SamplerType::MinP: return p.min_p > 0.0f;
    case SamplerType::Xtc: return p.xtc_probability > 0.0f && p.xtc_threshold <= 0.5f;
    case SamplerType::Temperature: return !(p.temp == 1.0f && p.dynatemp_range <= 0.0f);
  }
  return false;
}

int32_t resolve_window(int32_t n, int32_t n_ctx, const char* flag) {
  if (n >= 0) return n;
  if (n != -1) throw Error(std::string("sampling: ") + flag + " must be >= -1, got " + std::to_string(n));
  if (n_ctx <= 0) {
    throw Error(std::string("sampling: ") + flag + " = -1 (context size) needs the context size");
  }
  return n_ctx;
}

void seed_generators(SamplerChain::State& s) {
  s.seed = resolve_seed(s.params.seed);
  s.rng.seed(s.seed, 0);
  s.rng_xtc.seed(s.seed, 1);
}

// Replaces the logit of `token` by f(logit) when the token is a candidate;
// returns whether it was.
template <typename F>
bool edit_token(RowEngine& e, int32_t token, F&& f) {
  const int64_t pos = e.find(token);
  if (pos < 0) return false;
  float* w = e.writable();
  w[pos] = f(w[pos]);
  return true;
}

}  // namespace

SamplerChain::SamplerChain(const SamplingParams& params, int32_t n_vocab, const SamplerContext& ctx)
    : s_(std::make_unique<State>()) {
  if (n_vocab < 1) throw Error("sampling: vocabulary size must be >= 1, got " + std::to_string(n_vocab));
  State& s = *s_;
  s.params = params;
  s.n_vocab = n_vocab;
  if (params.mirostat < 0 || params.mirostat > 2) {
    throw Error("sampling: --mirostat must be 0, 1 or 2, got " + std::to_string(params.mirostat));
  }
  for (const LogitBias& b : params.logit_bias) {
    if (b.token < 0 || b.token >= n_vocab) {
      throw Error("sampling: logit bias token " + std::to_string(b.token) +
                  " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
    s.biases.push_back(b);
  }
  if (params.ignore_eos) {
    for (int32_t t : ctx.eog_tokens) {
      if (t >= 0 && t < n_vocab) s.biases.push_back({t, -std::numeric_limits<float>::infinity()});
    }
  }
  if (stage_active(params, SamplerType::Penalties)) {
    const int32_t pen_n = resolve_window(params.penalty_last_n, ctx.n_ctx, "--repeat-last-n");
    s.penalties = sampling::RepetitionPenalties(pen_n, params.penalty_repeat, params.penalty_freq,
                                                params.penalty_present);
  }
  if (stage_active(params, SamplerType::Dry)) {
    const int32_t dry_n = resolve_window(params.dry_penalty_last_n, ctx.n_ctx, "--dry-penalty-last-n");
    sampling::DryBreakers breakers;
    if (!ctx.dry_breaker_sequences.empty()) {
      breakers = sampling::Dry::breakers_from_sequences(ctx.dry_breaker_sequences);
    } else if (ctx.token_to_piece && ctx.tokenize) {
      breakers = sampling::Dry::breakers_from_strings(params.dry_sequence_breakers, n_vocab,
                                                      ctx.token_to_piece, ctx.tokenize);
    }
    s.dry = sampling::Dry(params.dry_multiplier, params.dry_base, params.dry_allowed_length, dry_n,
                          std::move(breakers));
  }
  if (params.mirostat == 0) {
    for (SamplerType t : params.samplers) {
      if (stage_active(params, t)) s.stages.push_back(t);
    }
    const bool greedy = !s.stages.empty() && s.stages.back() == SamplerType::Temperature &&
                        params.temp <= 0.0f && params.dynatemp_range <= 0.0f;
    bool only_prefix = true;
    for (size_t i = 0; i < s.stages.size(); ++i) {
      const SamplerType t = s.stages[i];
      only_prefix &= t != SamplerType::TypicalP && t != SamplerType::Xtc &&
                     !(t == SamplerType::Temperature && i + 1 != s.stages.size());
    }
    s.greedy_shortcut = greedy && only_prefix;
    if (!s.stages.empty() && s.stages.back() == SamplerType::Temperature &&
        params.dynatemp_range <= 0.0f && params.temp > 0.0f) {
      s.draw_temp_hint = params.temp;
    }
  } else if (params.temp != 1.0f) {
    s.stages.push_back(SamplerType::Temperature);
  }
  s.mu = 2.0f * params.mirostat_tau;
  seed_generators(s);
}

SamplerChain::~SamplerChain() = default;
SamplerChain::SamplerChain(SamplerChain&&) noexcept = default;
SamplerChain& SamplerChain::operator=(SamplerChain&&) noexcept = default;

const SamplingParams& SamplerChain::params() const { return s_->params; }
int32_t SamplerChain::n_vocab() const { return s_->n_vocab; }
uint32_t SamplerChain::seed() const { return s_->seed; }
float SamplerChain::mirostat_mu() const { return s_->mu; }

void SamplerChain::accept(int32_t token) {
  if (token < 0 || token >= s_->n_vocab) {
    throw Error("sampling: accepted token " + std::to_string(token) + " is outside the vocabulary");
  }
  s_->penalties.accept(token);
  s_->dry.accept(token);
}

void SamplerChain::reset() {
  s_->penalties.reset();
  s_->dry.reset();
  s_->mu = 2.0f * s_->params.mirostat_tau;
  seed_generators(*s_);
}

std::string SamplerChain::describe() const {
  std::string out = "logits";
  if (!s_->biases.empty()) out += " -> logit-bias";
  for (SamplerType t : s_->stages) out += " -> " + sampler_type_name(t);
  if (s_->params.mirostat == 1) out += " -> mirostat";
  else if (s_->params.mirostat == 2) out += " -> mirostat-v2";
  else out += " -> dist";
  return out;
}

namespace {

// The temperature whose weights the stage after stage i will want from the
// current view: the draw's when only the final temperature is left, 0 when
// a filter will shrink the view first, else 1 (samplers that read
// probabilities).
float weights_hint(const SamplerChain::State& s, size_t i) {
  for (size_t k = i + 1; k < s.stages.size(); ++k) {
    switch (s.stages[k]) {
      case SamplerType::TopK:
      case SamplerType::MinP:
        return 0.0f;
      case SamplerType::Temperature:
        if (k + 1 == s.stages.size()) return s.draw_temp_hint;
        return 1.0f;
      default:
        return 1.0f;
    }
  }
  return s.draw_temp_hint;
}

// Runs every stage but the final draw. Returns the temperature the draw must
// apply, and leaves a top-p pending in *pending when there is one.
float run_stages(SamplerChain::State& s, RowEngine& e, const float* logits, Rng& xtc_coin,
                 PendingTopP* pending, bool* has_pending) {
  const SamplingParams& p = s.params;
  e.begin(logits, s.n_vocab);
  *has_pending = false;
  auto resolve = [&] {
    if (*has_pending) e.keep_top_p_exact(*pending, 0);
    *has_pending = false;
  };
  bool edited = false;
  for (const LogitBias& b : s.biases) edited |= edit_token(e, b.token, [&](float v) { return v + b.bias; });
  if (edited) e.values_changed();

  float final_temp = 1.0f;
  for (size_t i = 0; i < s.stages.size(); ++i) {
    // With mirostat the temperature is not the last step: mirostat draws.
    const bool last = i + 1 == s.stages.size() && p.mirostat == 0;
    edited = false;
    switch (s.stages[i]) {
      case SamplerType::Penalties:
        resolve();
        for (const auto& [token, count] : s.penalties.counts()) {
          // Captured through a copy: clang 14 (the fuzz build) cannot capture structured bindings.
          const auto n = count;
          edited |= edit_token(e, token, [&](float v) { return s.penalties.apply(v, n); });
        }
        if (edited) e.values_changed();
        break;
      case SamplerType::Dry:
        resolve();
        s.dry.penalties(s.dry_edits);
        for (const auto& [token, pen] : s.dry_edits) {
          const auto d = pen;  // see above
          edited |= edit_token(e, token, [&](float v) { return v - d; });
        }
        if (edited) e.values_changed();
        break;
      case SamplerType::TopNSigma:
        if (s.greedy_shortcut) break;
        resolve();
        sampling::apply_top_n_sigma(e, p.top_n_sigma);
        break;
      case SamplerType::TopK:
        if (s.greedy_shortcut) break;
        e.keep_top(p.top_k);
        break;
      case SamplerType::TypicalP:
        resolve();
        sampling::apply_typical(e, p.typical_p, p.min_keep);
        break;
      case SamplerType::TopP:
        if (s.greedy_shortcut) break;
        resolve();
        if (p.min_keep > 1) {
          e.keep_top_p_exact(PendingTopP{p.top_p, e.total_mass()}, p.min_keep);
        } else {
          *pending = PendingTopP{p.top_p, e.total_mass(weights_hint(s, i))};
          *has_pending = true;
        }
        break;
      case SamplerType::MinP:
        if (s.greedy_shortcut) break;
        if (p.min_keep > 1) resolve();
        e.keep_min_p(p.min_p, p.min_keep);
        break;
      case SamplerType::Xtc:
        resolve();
        sampling::apply_xtc(e, p.xtc_probability, p.xtc_threshold, p.min_keep, xtc_coin);
        break;
      case SamplerType::Temperature: {
        float t = p.temp;
        if (p.mirostat == 0 && p.dynatemp_range > 0.0f) {
          resolve();
          t = sampling::dynamic_temperature(e, p.temp, p.dynatemp_range, p.dynatemp_exponent);
        }
        if (t <= 0.0f) {
          // Greedy: only the best candidate stays (it passes any pending top-p).
          e.keep_top(1);
          *has_pending = false;
        } else if (last) {
          final_temp = t;
        } else if (t != 1.0f) {
          resolve();
          float* w = e.writable();
          for (int64_t k = 0; k < e.size(); ++k) w[k] = w[k] / t;
          e.values_changed();
        }
        break;
      }
    }
  }
  return final_temp;
}

}  // namespace

int32_t SamplerChain::sample_with(RowEngine& e, const float* logits) {
  State& s = *s_;
  PendingTopP pending;
  bool has_pending = false;
  const float temp = run_stages(s, e, logits, s.rng_xtc, &pending, &has_pending);
  if (s.params.mirostat == 1) {
    return sampling::mirostat_v1(e, s.n_vocab, s.params.mirostat_tau, s.params.mirostat_eta, s.mu, s.rng);
  }
  if (s.params.mirostat == 2) {
    return sampling::mirostat_v2(e, s.params.mirostat_tau, s.params.mirostat_eta, s.mu, s.rng);
  }
  return e.sample(has_pending ? &pending : nullptr, temp, s.rng);
}

int32_t SamplerChain::sample(const float* logits) {
  if (!s_->engine) s_->engine = std::make_unique<RowEngine>();
  return sample_with(*s_->engine, logits);
}

std::vector<TokenProb> SamplerChain::candidates(const float* logits) {
  State& s = *s_;
  if (!s.engine) s.engine = std::make_unique<RowEngine>();
  RowEngine& e = *s.engine;
  sampling::Rng coin = s.rng_xtc;  // a copy: listing must not advance XTC
  PendingTopP pending;
  bool has_pending = false;
  const float temp = run_stages(s, e, logits, coin, &pending, &has_pending);
  if (has_pending) e.keep_top_p_exact(pending, 0);
  double total = 0;
  const float* q = e.weights(temp, &total);
  std::vector<TokenProb> out(static_cast<size_t>(e.size()));
  for (int64_t i = 0; i < e.size(); ++i) {
    const float x = e.view().x[i];
    out[static_cast<size_t>(i)] = TokenProb{e.id_at(i), temp == 1.0f ? x : x / temp, q[i] / total};
  }
  return out;
}

void sample_batch(std::span<SamplerChain* const> chains, const float* logits, int64_t row_stride,
                  std::span<int32_t> out_tokens) {
  if (out_tokens.size() < chains.size()) {
    throw Error("sample_batch: " + std::to_string(chains.size()) + " rows but room for " +
                std::to_string(out_tokens.size()) + " tokens");
  }
  // One scratch space per thread, reused by every row and every call.
  thread_local RowEngine engine;
  for (size_t r = 0; r < chains.size(); ++r) {
    out_tokens[r] = chains[r]->sample_with(engine, logits + static_cast<int64_t>(r) * row_stride);
  }
}

}  // namespace kestrel
