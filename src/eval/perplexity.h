// Perplexity and KL divergence with llama-perplexity's method.
//
// The text's tokens (tokenized once, BOS first) are cut into non-overlapping
// chunks of n_ctx; each chunk starts from an empty cache with its first
// token replaced by BOS; the logits at positions n_ctx/2 .. n_ctx-2 predict
// the next token and are scored (the first half is context only).
// Optionally every scored row's log-probs are saved (the KLD base) or
// compared against a saved base: mean KLD ± error, median / 99th / 99.9th
// percentile, top-1 agreement, PPL ratio and difference.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/context.h"

namespace kestrel {

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t n_chunks = -1;   // -1: all whole chunks in the text
  int64_t n_batch = 0;     // 0: n_ctx
  int n_threads = 0;
  KernelPath path = KernelPath::Auto;
  std::string save_base;   // write the KLD base here
  std::string compare_base;  // compare against this KLD base
  // Called after each chunk with the running perplexity estimate.
  std::function<void(int64_t chunk, int64_t n_chunks, double ppl)> on_chunk;
};

struct KldReport {
  int64_t n = 0;
  double mean = 0, mean_err = 0, median = 0, p99 = 0, p999 = 0, max = 0;
  double top1_agree = 0;   // fraction
  double ppl_base = 0, ppl_base_err = 0;
  double ppl_ratio = 0, ppl_diff = 0;
};

struct PerplexityResult {
  double ppl = 0, ppl_err = 0;
  int64_t n_chunks = 0, n_scored = 0;
  std::vector<double> nll;  // per scored token, in order
  bool has_kld = false;
  KldReport kld;
};

// Perplexity of `tokens` (already tokenized, BOS first when the vocabulary
// adds one). Throws kestrel::Error when the text holds no whole chunk or
// a base file does not match the model, the text or the context size.
PerplexityResult evaluate_perplexity(const Model& model, std::span<const TokenId> tokens,
                                     const PerplexityOptions& opt);

// Whole chunks of n_ctx in a text of n_tokens, capped at max_chunks when
// positive. Throws kestrel::Error (prefixed with `tool`) for n_ctx < 4 or a
// text shorter than one chunk. Shared by perplexity and imatrix runs.
int64_t count_chunks(size_t n_tokens, int64_t n_ctx, int64_t max_chunks, const std::string& tool);

// exp(mean) and llama.cpp's error estimate from per-token negative log-likelihoods.
void perplexity_from_nll(std::span<const double> nll, double& ppl, double& err);

}  // namespace kestrel
