// The optimized forward pass (threads, AVX2 kernels, KV cache, batched
// prefill then single-token decode) against the scalar reference on every
// golden model.
//
// Tolerance: max |Δlogit| <= 1e-3 * max(1, max |logit|) per position. Both
// paths quantize identical activations and the integer block sums are exact,
// so what differs is only the order of f32 summation (SIMD lanes, threads)
// and f32 rounding in attention; that drift is ~1e-5 relative per op and
// grows with depth, so 1e-3 relative leaves a wide margin while still
// catching any real indexing or layout error (those move logits by O(1)).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reference_forward.h"
#include "runtime/context.h"
#include "test_paths.h"

namespace kestrel::test {
namespace {

class ReferenceForward : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceForward, OptimizedPathMatchesScalarReference) {
  const std::string base = golden_dir() + "/" + GetParam();
  if (!exists(base + ".gguf")) GTEST_SKIP() << "shared data not found: " << base << ".gguf";
  const auto model = Model::load(base + ".gguf");
  std::ifstream in(base + ".json");
  const auto golden = nlohmann::json::parse(in);
  // Two prompts: a short one and the longest, to exercise depth.
  std::vector<std::vector<TokenId>> prompts;
  size_t longest = 0;
  for (size_t i = 0; i < golden["cases"].size(); ++i) {
    if (golden["cases"][i]["tokens"].size() > golden["cases"][longest]["tokens"].size()) longest = i;
  }
  prompts.push_back(golden["cases"][0]["tokens"].get<std::vector<TokenId>>());
  prompts.push_back(golden["cases"][longest]["tokens"].get<std::vector<TokenId>>());
  // The scalar reference re-attends over the prefix and runs the output
  // matrix per position; 128 tokens keep it to seconds on a 128K vocabulary.
  if (prompts.back().size() > 128) prompts.back().resize(128);

  ContextParams cp;
  cp.n_threads = 2;
  cp.n_ctx = 512;
  cp.n_batch = 64;  // several prefill chunks for the long prompt
  Context ctx(*model, cp);
  const int64_t nv = model->config().n_vocab;
  for (const auto& tokens : prompts) {
    const auto ref = reference_forward(*model, tokens);
    // Prefill all but the last 3 tokens as a batch, then decode one by one.
    const size_t split = tokens.size() > 4 ? tokens.size() - 3 : 1;
    ctx.clear();
    std::vector<float> ours;
    ctx.decode({tokens.data(), split}, true);
    ours.assign(ctx.logits(0), ctx.logits(0) + split * nv);
    for (size_t t = split; t < tokens.size(); ++t) {
      ctx.decode({&tokens[t], 1}, false);
      ours.insert(ours.end(), ctx.logits(0), ctx.logits(0) + nv);
    }
    ASSERT_EQ(ours.size(), ref.size());
    double worst_rel = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      double max_abs = 1.0, max_diff = 0.0;
      for (int64_t v = 0; v < nv; ++v) {
        max_abs = std::max(max_abs, std::fabs(double(ref[t * nv + v])));
        max_diff = std::max(max_diff, std::fabs(double(ours[t * nv + v]) - ref[t * nv + v]));
      }
      worst_rel = std::max(worst_rel, max_diff / max_abs);
      ASSERT_LE(max_diff, 1e-3 * max_abs) << "position " << t;
    }
    std::printf("[ reference ] %-20s %3zu tokens: max relative |dlogit| = %.2e\n", GetParam().c_str(),
                tokens.size(), worst_rel);
  }
}

INSTANTIATE_TEST_SUITE_P(AllGoldenModels, ReferenceForward,
                         ::testing::Values("llama-spm-F16", "llama-spm-Q8_0", "llama-spm-Q6_K", "llama-spm-Q5_K",
                                           "llama-spm-Q5_1", "llama-spm-Q5_0", "llama-spm-Q4_K", "llama-spm-Q4_K_M",
                                           "llama-spm-Q4_1", "llama-spm-Q4_0", "llama-spm-Q3_K", "llama-spm-Q2_K",
                                           "qwen2-gpt2-Q4_K_M", "llama3-bpe-Q4_K"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace kestrel::test
