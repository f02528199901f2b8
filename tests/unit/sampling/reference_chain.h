// The test oracle: llama.cpp's sampler chain written the straightforward,
// sort-based way, over an array of (id, logit) candidates. The fast sampler
// in src/sampling must reproduce its surviving sets exactly and its
// distributions statistically.
//
// It shares only the definitions of sampling_math.h with the code under
// test (the exp, the integer mass, the order); every filter is an
// independent implementation (sort the candidates, walk the sorted list).
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/sampler.h"

namespace kestrel::test {

struct RefCand {
  int32_t id;
  float logit;
};

std::vector<RefCand> ref_candidates(const float* logits, int n_vocab);
// Sorts by logit (highest first), ties by id (lowest first).
void ref_sort(std::vector<RefCand>& c);

void ref_logit_bias(std::vector<RefCand>& c, const std::vector<LogitBias>& biases);
// history: accepted tokens, oldest first.
void ref_penalties(std::vector<RefCand>& c, const std::vector<int32_t>& history, int last_n,
                   float repeat, float freq, float present);
// breakers: token sequences, head first. Naive O(n^2) definition.
void ref_dry(std::vector<RefCand>& c, const std::vector<int32_t>& history, float multiplier,
             float base, int allowed_length, int last_n,
             const std::vector<std::vector<int32_t>>& breakers);
void ref_top_n_sigma(std::vector<RefCand>& c, float n);
void ref_top_k(std::vector<RefCand>& c, int k);
void ref_typical(std::vector<RefCand>& c, float p, int min_keep);
void ref_top_p(std::vector<RefCand>& c, float p, int min_keep);
void ref_min_p(std::vector<RefCand>& c, float p, int min_keep);
// The coin is given: `lands` says whether XTC acts this time.
void ref_xtc(std::vector<RefCand>& c, bool lands, float threshold, int min_keep);
// Temperature with llama.cpp's dynamic range; temp <= 0 keeps the best only
// (the others become -inf).
void ref_temperature(std::vector<RefCand>& c, float temp, float range, float exponent);

// Probability of each vocabulary token after the candidates are softmaxed.
std::vector<double> ref_distribution(const std::vector<RefCand>& c, int n_vocab);

// The whole chain (mirostat 0) up to the draw: logit bias, then
// params.samplers in order.
struct RefInputs {
  std::vector<int32_t> history;
  std::vector<std::vector<int32_t>> dry_breakers;
  bool xtc_lands = true;
};
std::vector<RefCand> ref_chain(const SamplingParams& p, const float* logits, int n_vocab,
                               const RefInputs& in);
// The chain's draw distribution; with XTC active, the mixture over its coin.
std::vector<double> ref_chain_distribution(const SamplingParams& p, const float* logits,
                                           int n_vocab, RefInputs in);

// Mirostat draw distributions at a given mu (after temperature).
std::vector<double> ref_mirostat_v1(const float* logits, int n_vocab, float temp, float mu);
std::vector<double> ref_mirostat_v2(const float* logits, int n_vocab, float temp, float mu);

}  // namespace kestrel::test
