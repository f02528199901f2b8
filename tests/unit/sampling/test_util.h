// Shared helpers for the sampling tests: logit rows and draw counting.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "sampling/sampler.h"

namespace kestrel::test {

// Gaussian logits, mean 0, given standard deviation (the benchmark's rows use std 3).
inline std::vector<float> gaussian_logits(int n, float sd, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, sd);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(dist(gen));
  return v;
}

// Draw counts of `draws` samples from one row.
inline std::vector<int64_t> count_draws(SamplerChain& chain, const std::vector<float>& logits,
                                        int64_t draws) {
  std::vector<int64_t> counts(logits.size(), 0);
  for (int64_t i = 0; i < draws; ++i) ++counts[static_cast<size_t>(chain.sample(logits.data()))];
  return counts;
}

// Parameters with only the listed samplers (and llama.cpp defaults for the rest).
inline SamplingParams only(std::vector<SamplerType> samplers, uint32_t seed = 1234) {
  SamplingParams p;
  p.samplers = std::move(samplers);
  p.seed = seed;
  return p;
}

inline std::set<int32_t> id_set(const std::vector<TokenProb>& c) {
  std::set<int32_t> s;
  for (const TokenProb& t : c) s.insert(t.token);
  return s;
}

}  // namespace kestrel::test
