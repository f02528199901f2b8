// Token sampling: llama.cpp's sampler chain (same samplers, parameters,
// defaults and order), with top-k / top-p / min-p filtering that never sorts
// the vocabulary (see row_engine.h) yet keeps exactly the tokens the
// sort-based definition keeps.
//
// Chain (llama.cpp common_sampler): logit bias first, then params.samplers in
// order (default: penalties; dry; top_n_sigma; top_k; typ_p; top_p; min_p;
// xtc; temperature), then a draw from the remaining distribution. With
// mirostat 1 or 2 the chain is logit bias, temperature, mirostat instead.
// temp <= 0 means greedy (the best surviving token).
//
// Convention for penalties and DRY: sample() does not record the token it
// returns. The caller calls accept(token) for every token the penalties
// should see: each prompt token (llama.cpp accepts the prompt) and each
// generated token, in order. reset() forgets them (new conversation).
//
// Semantics that differ from llama.cpp only at rounding level or where
// llama.cpp is undefined are listed in docs/sampling.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace kestrel {

enum class SamplerType : uint8_t {
  Penalties,    // repetition / frequency / presence penalties ('e', "penalties")
  Dry,          // DRY ('d', "dry")
  TopNSigma,    // top-n-sigma ('s', "top_n_sigma")
  TopK,         // ('k', "top_k")
  TypicalP,     // locally typical ('y', "typ_p")
  TopP,         // nucleus ('p', "top_p")
  MinP,         // ('m', "min_p")
  Xtc,          // exclude top choices ('x', "xtc")
  Temperature,  // temperature, with dynamic range/exponent ('t', "temperature")
};

struct LogitBias {
  int32_t token;
  float bias;
};

constexpr uint32_t kRandomSeed = 0xFFFFFFFFu;  // seed -1: pick a random seed

// All of llama.cpp's sampling options (common_params_sampling), same defaults.
struct SamplingParams {
  uint32_t seed = kRandomSeed;
  int32_t min_keep = 0;         // samplers keep at least this many (0 = off)
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // 1.0: off
  float min_p = 0.05f;          // 0.0: off
  float xtc_probability = 0.0f; // 0.0: off
  float xtc_threshold = 0.10f;  // > 0.5: off
  float typical_p = 1.0f;       // 1.0: off
  float temp = 0.80f;           // <= 0: greedy
  float dynatemp_range = 0.0f;  // 0.0: off
  float dynatemp_exponent = 1.0f;
  int32_t penalty_last_n = 64;  // 0: off, -1: context size
  float penalty_repeat = 1.0f;  // 1.0: off
  float penalty_freq = 0.0f;    // 0.0: off
  float penalty_present = 0.0f; // 0.0: off
  float dry_multiplier = 0.0f;  // 0.0: off
  float dry_base = 1.75f;
  int32_t dry_allowed_length = 2;
  int32_t dry_penalty_last_n = 64;  // 0: off, -1: context size
  int32_t mirostat = 0;         // 0 off, 1 mirostat, 2 mirostat 2.0
  float mirostat_tau = 5.0f;    // target entropy (--mirostat-ent)
  float mirostat_eta = 0.1f;    // learning rate (--mirostat-lr)
  float top_n_sigma = -1.0f;    // <= 0: off
  bool ignore_eos = false;      // bias end-of-generation tokens to -inf
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};
  // Set by the first --dry-sequence-breaker, which replaces the defaults
  // (later ones add to the list, as in llama.cpp).
  bool dry_sequence_breakers_from_user = false;
  std::vector<SamplerType> samplers = {
      SamplerType::Penalties, SamplerType::Dry,  SamplerType::TopNSigma,
      SamplerType::TopK,      SamplerType::TypicalP, SamplerType::TopP,
      SamplerType::MinP,      SamplerType::Xtc,  SamplerType::Temperature};
  std::vector<LogitBias> logit_bias;
};

// Model facts the chain needs beyond the parameters. All optional.
struct SamplerContext {
  // Context size: resolves penalty_last_n = -1 and dry_penalty_last_n = -1.
  int32_t n_ctx = 0;
  // End-of-generation tokens, biased to -inf when params.ignore_eos.
  std::vector<int32_t> eog_tokens;
  // DRY sequence breakers are strings; to find the token sequences that spell
  // them the chain scans the vocabulary once (as llama.cpp does) with these
  // two callbacks. Without them, give dry_breaker_sequences directly: each is
  // a token sequence (head token first) that stops a repetition.
  std::function<std::string(int32_t)> token_to_piece;
  std::function<std::vector<int32_t>(const std::string&)> tokenize;
  std::vector<std::vector<int32_t>> dry_breaker_sequences;
};

// A surviving candidate and its probability under the chain.
struct TokenProb {
  int32_t token;
  float logit;   // after penalties / biases / temperature
  double prob;
};

namespace sampling { class RowEngine; }

class SamplerChain {
 public:
  // Throws kestrel::Error for a parameter the chain cannot use (a logit-bias
  // token outside [0, n_vocab), n_vocab < 1, a -1 window without n_ctx, ...).
  SamplerChain(const SamplingParams& params, int32_t n_vocab, const SamplerContext& ctx = {});
  ~SamplerChain();
  SamplerChain(SamplerChain&&) noexcept;
  SamplerChain& operator=(SamplerChain&&) noexcept;

  // Samples one token from a row of n_vocab logits (not modified). Throws
  // kestrel::Error for NaN / +inf logits or a row with no finite logit.
  int32_t sample(const float* logits);
  // Records a token for the penalties and DRY (see the convention above).
  void accept(int32_t token);
  // Forgets accepted tokens, resets mirostat and re-seeds the generators (a
  // random seed draws a new one, as llama.cpp does).
  void reset();

  // The candidates that survive every sampler before the final draw, with
  // the draw's probabilities, in id order (for n_probs / logprobs output and
  // tests). XTC's coin is flipped on a copy of its generator, so this does
  // not change later samples. With mirostat, the candidates before mirostat.
  std::vector<TokenProb> candidates(const float* logits);

  const SamplingParams& params() const;
  int32_t n_vocab() const;
  uint32_t seed() const;  // the seed in use (random ones resolved)
  float mirostat_mu() const;
  // "logits -> logit-bias -> penalties -> ... -> dist", like llama.cpp prints.
  std::string describe() const;

  struct State;

 private:
  friend void sample_batch(std::span<SamplerChain* const>, const float*, int64_t,
                           std::span<int32_t>);
  int32_t sample_with(sampling::RowEngine& engine, const float* logits);
  std::unique_ptr<State> s_;
};

// Samples one token per row: row r (logits + r * row_stride, n_vocab floats)
// goes through chains[r]. Rows share one scratch space, so memory and cache
// footprint do not grow with the batch. Like sample(), does not accept.
void sample_batch(std::span<SamplerChain* const> chains, const float* logits, int64_t row_stride,
                  std::span<int32_t> out_tokens);

// llama.cpp names ("top_k", "top-k", "temp", "nucleus", ...), ';'-separated
// as for --samplers. Throws kestrel::Error naming an unknown sampler.
std::vector<SamplerType> parse_sampler_names(const std::string& list);
// One character per sampler as for --sampling-seq ("edskypmxt").
std::vector<SamplerType> parse_sampler_chars(const std::string& seq);
std::string sampler_type_name(SamplerType t);
char sampler_type_char(SamplerType t);

}  // namespace kestrel
