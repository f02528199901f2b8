// Internals shared by sampler_chain.cpp and chain_samplers.cpp: the chain's
// state and the samplers that work on an explicit candidate list (typical,
// XTC, top-n-sigma, dynamic temperature, mirostat).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "sampling/penalties.h"
#include "sampling/rng.h"
#include "sampling/row_engine.h"
#include "sampling/sampler.h"

namespace kestrel {

struct SamplerChain::State {
  SamplingParams params;
  int32_t n_vocab = 0;
  uint32_t seed = 0;          // in use
  std::vector<LogitBias> biases;  // params.logit_bias, then -inf for EOG when ignore_eos
  std::vector<SamplerType> stages;  // the active samplers, in order
  // temp <= 0 last and nothing before it that can drop the best token: the
  // prefix filters cannot change the answer, so they are skipped.
  bool greedy_shortcut = false;
  // The temperature of the final draw when it is known up front (a plain
  // temperature last), so top-p's mass pass can prepare the draw's weights.
  float draw_temp_hint = 1.0f;
  sampling::RepetitionPenalties penalties{0, 1.0f, 0.0f, 0.0f};
  sampling::Dry dry{0.0f, 0.0f, 0, 0, {}};
  sampling::Rng rng;      // final draw and mirostat
  sampling::Rng rng_xtc;  // XTC's coin
  float mu = 0;           // mirostat
  std::unique_ptr<sampling::RowEngine> engine;  // scratch for sample(), made on first use
  std::vector<std::pair<int32_t, float>> dry_edits;
};

namespace sampling {

// Logits below max - n * stddev (of the finite logits) become -inf.
void apply_top_n_sigma(RowEngine& e, float n);
// Locally typical sampling (sorts the candidates by |surprise - entropy|).
void apply_typical(RowEngine& e, float p, int64_t min_keep);
// Flips XTC's coin (only with >= 2 candidates, as llama.cpp) and, when it
// lands, drops every token with probability >= threshold except the least
// likely of them.
void apply_xtc(RowEngine& e, float probability, float threshold, int64_t min_keep, Rng& coin);
// The temperature dynamic temperature picks from the normalized entropy.
float dynamic_temperature(RowEngine& e, float temp, float range, float exponent);
// Mirostat v1 / v2 draw; they update mu.
int32_t mirostat_v1(RowEngine& e, int32_t n_vocab, float tau, float eta, float& mu, Rng& rng);
int32_t mirostat_v2(RowEngine& e, float tau, float eta, float& mu, Rng& rng);

}  // namespace sampling
}  // namespace kestrel
