// Perplexity and KL divergence against plain computations.
//
// - On a golden model and a fixed short text, evaluate_perplexity() equals
//   llama-perplexity's method computed by hand from the scalar reference
//   forward pass (chunking, BOS replacement, second-half scoring).
// - KLD of a model against its own saved base is ~0 with 100% top-1
//   agreement; a different model gives a clearly positive KLD.
// - The trained model's held-out perplexity equals llama.cpp's 50.1433
//   within 0.2% (the full text takes minutes on the scalar attention path,
//   so it runs when KESTREL_LONG_TESTS=1; a prefix check runs always).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/perplexity.h"
#include "reference_forward.h"
#include "test_paths.h"

namespace kestrel::test {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kText =
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it "
    "was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything "
    "before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the "
    "other way - in short, the period was so far like the present period, that some of its noisiest "
    "authorities insisted on its being received, for good or for evil, in the superlative degree of "
    "comparison only.";

TEST(Perplexity, MatchesHandComputationOnGoldenModel) {
  const std::string path = golden_dir() + "/llama-spm-Q8_0.gguf";
  if (!exists(path)) GTEST_SKIP() << "shared data not found: " << path;
  const auto model = Model::load(path);
  const auto tokens = model->tokenizer().encode(kText, true, false);
  const int64_t n_ctx = 32;
  ASSERT_GE(tokens.size(), 3u * n_ctx);
  PerplexityOptions opt;
  opt.n_ctx = n_ctx;
  opt.n_chunks = 3;
  opt.n_threads = 2;
  opt.path = KernelPath::Scalar;  // the reference uses the scalar oracles
  const PerplexityResult r = evaluate_perplexity(*model, tokens, opt);

  // By hand: chunk c covers tokens [c*n_ctx, (c+1)*n_ctx) with its first
  // token replaced by BOS; positions n_ctx/2 .. n_ctx-2 predict the next one.
  double sum = 0;
  int64_t n = 0;
  const int64_t nv = model->config().n_vocab;
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<TokenId> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    chunk[0] = model->tokenizer().bos();
    const auto logits = reference_forward(*model, chunk);
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
      const float* row = logits.data() + j * nv;
      double mx = -INFINITY, z = 0;
      for (int64_t v = 0; v < nv; ++v) mx = std::max(mx, double(row[v]));
      for (int64_t v = 0; v < nv; ++v) z += std::exp(double(row[v]) - mx);
      sum += -(double(row[chunk[j + 1]]) - mx - std::log(z));
      ++n;
    }
  }
  EXPECT_EQ(r.n_scored, n);
  EXPECT_EQ(r.n_scored, 3 * (n_ctx - 1 - n_ctx / 2));
  const double want = std::exp(sum / double(n));
  EXPECT_NEAR(r.ppl, want, 1e-6 * want);
  EXPECT_GT(r.ppl_err, 0.0);
}

TEST(Perplexity, KldOfAModelAgainstItselfIsZero) {
  const std::string path = golden_dir() + "/llama-spm-Q4_0.gguf";
  const std::string other = golden_dir() + "/llama-spm-Q2_K.gguf";
  if (!exists(path) || !exists(other)) GTEST_SKIP() << "shared data not found: " << path;
  const auto model = Model::load(path);
  const auto tokens = model->tokenizer().encode(kText, true, false);
  const std::string base = (std::filesystem::temp_directory_path() / "kestrel_kld_base.bin").string();
  PerplexityOptions opt;
  opt.n_ctx = 32;
  opt.n_threads = 2;
  opt.save_base = base;
  const PerplexityResult saved = evaluate_perplexity(*model, tokens, opt);
  opt.save_base.clear();
  opt.compare_base = base;
  const PerplexityResult self = evaluate_perplexity(*model, tokens, opt);
  ASSERT_TRUE(self.has_kld);
  EXPECT_LT(self.kld.mean, 1e-5);
  EXPECT_LT(self.kld.p999, 1e-4);
  EXPECT_DOUBLE_EQ(self.kld.top1_agree, 1.0);
  EXPECT_NEAR(self.kld.ppl_base, saved.ppl, 1e-3 * saved.ppl);  // base PPL from the 16-bit log-probs
  EXPECT_NEAR(self.kld.ppl_ratio, 1.0, 1e-3);

  const auto q2 = Model::load(other);
  const PerplexityResult vs = evaluate_perplexity(*q2, tokens, opt);
  EXPECT_GT(vs.kld.mean, 100 * self.kld.mean + 1e-3);
  EXPECT_LT(vs.kld.top1_agree, 1.0);
  std::filesystem::remove(base);
}

TEST(Perplexity, BaseFileMismatchesAreErrors) {
  const std::string path = golden_dir() + "/llama-spm-Q4_0.gguf";
  const std::string qwen = golden_dir() + "/qwen2-gpt2-Q4_K_M.gguf";
  if (!exists(path) || !exists(qwen)) GTEST_SKIP() << "shared data not found: " << path;
  const auto model = Model::load(path);
  const auto tokens = model->tokenizer().encode(kText, true, false);
  const std::string base = (std::filesystem::temp_directory_path() / "kestrel_kld_mismatch.bin").string();
  PerplexityOptions opt;
  opt.n_ctx = 32;
  opt.save_base = base;
  evaluate_perplexity(*model, tokens, opt);
  opt.save_base.clear();
  opt.compare_base = base;
  auto message = [&](const Model& m, std::span<const TokenId> t, PerplexityOptions o) {
    try {
      evaluate_perplexity(m, t, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const auto qm = Model::load(qwen);
  const auto qt = qm->tokenizer().encode(kText, true, false);
  EXPECT_NE(message(*qm, qt, opt).find("vocabulary"), std::string::npos);
  PerplexityOptions other_ctx = opt;
  other_ctx.n_ctx = 16;
  EXPECT_NE(message(*model, tokens, other_ctx).find("-c 32"), std::string::npos);
  std::vector<TokenId> shifted(tokens.begin() + 1, tokens.end());
  EXPECT_NE(message(*model, shifted, opt).find("different text"), std::string::npos);
  PerplexityOptions short_text;
  short_text.n_ctx = 4096;
  EXPECT_NE(message(*model, tokens, short_text).find("fewer than one chunk"), std::string::npos);
  std::filesystem::remove(base);
}

TEST(Perplexity, TrainedModelMatchesLlamaCpp) {
  const std::string dir = shared_dir() + "/data/models";
  if (!exists(dir + "/kestrel-test-4m-F16.gguf")) GTEST_SKIP() << "shared data not found: " << dir;
  const auto model = Model::load(dir + "/kestrel-test-4m-F16.gguf");
  const auto tokens = model->tokenizer().encode(read_text(dir + "/eval-news-from-nowhere.txt"), true, false);
  PerplexityOptions opt;
  opt.n_ctx = 256;
  opt.n_threads = 2;
  const bool full = std::getenv("KESTREL_LONG_TESTS") != nullptr;
  if (!full) opt.n_chunks = 8;
  const PerplexityResult r = evaluate_perplexity(*model, tokens, opt);
  if (full) {
    // llama.cpp (build of 2026-08-18): 50.1433 on the whole text at -c 256.
    EXPECT_NEAR(r.ppl, 50.1433, 0.002 * 50.1433);
    EXPECT_EQ(r.n_chunks, 558);
  } else {
    // Our full-text run gives 50.1432 (kestrel perplexity, 558 chunks); this
    // prefix is checked against that run's running estimate after 8 chunks.
    EXPECT_NEAR(r.ppl, 47.0519, 0.002 * 47.0519);
  }
}

}  // namespace
}  // namespace kestrel::test
