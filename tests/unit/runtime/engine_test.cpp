// The engine's many-sequence contracts on the tiny synthetic model:
//  - sequences of different lengths decoded together give each one its
//    solo logits: bit for bit for every quantized type (the matrix kernels
//    keep a per-row order, attention is row-independent), within 1e-3 of
//    the largest logit for F16/BF16, whose multi-row tiles sum in another
//    order than one row (observed: ~1.5e-4 on this random-weight model);
//  - a prefix-cache hit gives bit-identical logits to a cold run;
//  - a fork continues exactly like an independent sequence;
//  - a candidate tree in one batch gives each branch the logits of its own
//    linear decode, and keeping the accepted path continues like it;
//  - hidden-state outputs are the residual stream (final norm + output
//    matrix on them reproduce the logits);
//  - bad batches and running out of KV memory are clear errors that change
//    nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/ops.h"
#include "runtime/engine.h"
#include "tiny_model.h"

namespace kestrel {
namespace {

std::vector<TokenId> tokens(int n, int seed) {
  std::vector<TokenId> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<TokenId>((i * 37 + seed * 101 + 11) % 511 + 1);
  return t;
}

EngineParams params(int n_seq, int64_t n_ctx = 4096) {
  EngineParams p;
  p.n_ctx = n_ctx;
  p.n_seq_max = n_seq;
  p.n_batch = 1024;
  p.n_threads = 2;
  return p;
}

using Logits = std::vector<float>;

Logits copy_logits(const Engine& e, int64_t row) {
  const float* l = e.logits(row);
  return Logits(l, l + e.model().config().n_vocab);
}

// Prefill then `steps` decode tokens for one sequence alone; the logits of
// the prompt's last token and of each step.
std::vector<Logits> solo(const Model& m, const std::vector<TokenId>& prompt, const std::vector<TokenId>& steps) {
  Engine e(m, params(1));
  const int32_t s = e.seq_new();
  Batch b(1024);
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], s, static_cast<int32_t>(i), i + 1 == prompt.size() ? kOutputLogits : kOutputNone);
  e.decode(b);
  std::vector<Logits> out = {copy_logits(e, b.size() - 1)};
  for (TokenId t : steps) {
    b.clear();
    b.add(t, s, static_cast<int32_t>(e.seq_length(s)), kOutputLogits);
    e.decode(b);
    out.push_back(copy_logits(e, 0));
  }
  return out;
}

void expect_same(const Logits& got, const Logits& want, double rel_tol, const std::string& what) {
  if (rel_tol == 0) {
    for (size_t v = 0; v < want.size(); ++v) ASSERT_EQ(got[v], want[v]) << what << " token " << v;
    return;
  }
  float mx = 1.0f;
  for (float x : want) mx = std::max(mx, std::fabs(x));
  for (size_t v = 0; v < want.size(); ++v) ASSERT_NEAR(got[v], want[v], rel_tol * mx) << what << " token " << v;
}

class TogetherVsSolo : public ::testing::TestWithParam<const char*> {};

TEST_P(TogetherVsSolo, EachSequenceGetsItsSoloLogits) {
  const std::string type = GetParam();
  const bool exact = type != "F16" && type != "BF16";
  const auto m = Model::load(test::make_tiny(type));
  // Lengths on both sides of a page (64) and of an attention segment (512).
  const std::vector<std::vector<TokenId>> prompts = {tokens(5, 1), tokens(70, 2), tokens(600, 3)};
  const std::vector<TokenId> steps = {7, 8, 9};
  std::vector<std::vector<Logits>> want;
  for (const auto& p : prompts) want.push_back(solo(*m, p, steps));

  Engine e(*m, params(3));
  std::vector<int32_t> seq;
  for (size_t k = 0; k < prompts.size(); ++k) seq.push_back(e.seq_new());
  // All prompts in one batch (in reverse order, for good measure).
  Batch b(1024);
  std::vector<int64_t> last(prompts.size());
  for (size_t k = prompts.size(); k-- > 0;) {
    for (size_t i = 0; i < prompts[k].size(); ++i) {
      const bool out = i + 1 == prompts[k].size();
      if (out) last[k] = b.size();
      b.add(prompts[k][i], seq[k], static_cast<int32_t>(i), out ? kOutputLogits : kOutputNone);
    }
  }
  e.decode(b);
  for (size_t k = 0; k < prompts.size(); ++k) expect_same(copy_logits(e, last[k]), want[k][0], exact ? 0 : 1e-3, type + " prompt " + std::to_string(k));
  // Then each decode step for all three in one batch.
  for (size_t j = 0; j < steps.size(); ++j) {
    b.clear();
    for (size_t k = 0; k < prompts.size(); ++k) b.add(steps[j], seq[k], static_cast<int32_t>(e.seq_length(seq[k])), kOutputLogits);
    e.decode(b);
    for (size_t k = 0; k < prompts.size(); ++k) {
      expect_same(copy_logits(e, static_cast<int64_t>(k)), want[k][j + 1], exact ? 0 : 1e-3,
                  type + " sequence " + std::to_string(k) + " step " + std::to_string(j));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, TogetherVsSolo,
                         ::testing::Values("Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K",
                                           "F16", "BF16"));

TEST(Engine, PrefixCacheHitIsBitIdenticalToAColdRun) {
  const auto m = Model::load(test::make_tiny("Q4_K_M"));
  const auto first = tokens(200, 4);
  auto second = std::vector<TokenId>(first.begin(), first.begin() + 150);
  for (TokenId t : tokens(20, 5)) second.push_back(t);
  const auto want = solo(*m, second, {3, 4});

  EngineParams p = params(2);
  p.prefix_cache = true;
  Engine e(*m, p);
  int32_t s = e.seq_new();
  Batch b(1024);
  for (size_t i = 0; i < first.size(); ++i) b.add(first[i], s, static_cast<int32_t>(i));
  e.decode(b);
  e.seq_free(s);
  s = e.seq_new();
  const int64_t mapped = e.seq_attach_prefix(s, second);
  EXPECT_EQ(mapped, 128);  // two whole pages of the 150 shared tokens
  EXPECT_EQ(e.kv().prefix_stats().hits, 2);
  b.clear();
  for (size_t i = static_cast<size_t>(mapped); i < second.size(); ++i) {
    b.add(second[i], s, static_cast<int32_t>(i), i + 1 == second.size() ? kOutputLogits : kOutputNone);
  }
  e.decode(b);
  expect_same(copy_logits(e, b.size() - 1), want[0], 0, "after the hit");
  for (int j = 0; j < 2; ++j) {
    b.clear();
    b.add(3 + j, s, static_cast<int32_t>(e.seq_length(s)), kOutputLogits);
    e.decode(b);
    expect_same(copy_logits(e, 0), want[static_cast<size_t>(j + 1)], 0, "decode step after the hit");
  }
}

TEST(Engine, ForkContinuesLikeAnIndependentSequence) {
  const auto m = Model::load(test::make_tiny("Q8_0"));
  const auto prompt = tokens(100, 6);
  auto with = [&](TokenId t) {
    auto p = prompt;
    p.push_back(t);
    return solo(*m, p, {})[0];
  };
  Engine e(*m, params(2));
  const int32_t a = e.seq_new();
  Batch b(1024);
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], a, static_cast<int32_t>(i));
  e.decode(b);
  const int32_t c = e.seq_fork(a);
  b.clear();
  b.add(40, a, 100, kOutputLogits);
  b.add(41, c, 100, kOutputLogits);
  e.decode(b);
  expect_same(copy_logits(e, 0), with(40), 0, "original");
  expect_same(copy_logits(e, 1), with(41), 0, "fork");
}

// prompt, then a tree: 0 = x (root), 1 = y child of 0, 2 = z child of 0,
// 3 = w child of 1; node i's logits equal those of prompt + its path.
TEST(Engine, CandidateTreeGivesEachBranchItsLinearLogits) {
  const auto m = Model::load(test::make_tiny("Q4_0"));
  const auto prompt = tokens(60, 7);
  const TokenId tok[4] = {100, 200, 300, 400};
  const int parent[4] = {-1, 0, 0, 1};
  Engine e(*m, params(1));
  const int32_t s = e.seq_new();
  Batch b(1024);
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], s, static_cast<int32_t>(i));
  e.decode(b);
  b.clear();
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> sees;
    int depth = 0;
    for (int a = parent[i]; a >= 0; a = parent[a]) sees.insert(sees.begin(), a), ++depth;
    b.add_tree(tok[i], s, static_cast<int32_t>(prompt.size()) + depth, kOutputLogits, sees);
  }
  e.decode(b);
  for (int i = 0; i < 4; ++i) {
    auto path = prompt;
    std::vector<TokenId> rev;
    for (int a = i; a >= 0; a = parent[a]) rev.insert(rev.begin(), tok[a]);
    path.insert(path.end(), rev.begin(), rev.end());
    const Logits want = solo(*m, path, {})[0];
    const Logits got = copy_logits(e, i);
    // Near-equal (the softmax sum's lanes follow slots), same argmax.
    expect_same(got, want, 1e-5, "node " + std::to_string(i));
    EXPECT_EQ(std::max_element(got.begin(), got.end()) - got.begin(), std::max_element(want.begin(), want.end()) - want.begin());
  }
  // Accept x, y, w (slots 60, 61, 63) and continue: the same as decoding them linearly.
  const int64_t keep[3] = {60, 61, 63};
  e.seq_keep(s, 60, keep);
  EXPECT_EQ(e.seq_length(s), 63);
  b.clear();
  b.add(9, s, 63, kOutputLogits);
  e.decode(b);
  auto linear = prompt;
  linear.insert(linear.end(), {100, 200, 400, 9});
  expect_same(copy_logits(e, 0), solo(*m, linear, {})[0], 1e-5, "after keep");
}

TEST(Engine, HiddenStatesAreTheResidualStream) {
  const auto m = Model::load(test::make_tiny("Q8_0"));
  EngineParams p = params(1);
  p.capture_layers = {0, 1};
  Engine e(*m, p);
  const int32_t s = e.seq_new();
  Batch b(64);
  const auto prompt = tokens(9, 8);
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], s, static_cast<int32_t>(i), i >= 7 ? kOutputLogits | kOutputHidden : kOutputNone);
  e.decode(b);
  const ModelConfig& c = m->config();
  ThreadPool pool(1);
  for (int64_t row : {7, 8}) {
    // Final norm and output matrix on the last layer's residual stream.
    std::vector<float> normed(static_cast<size_t>(c.n_embd)), logits(static_cast<size_t>(c.n_vocab));
    rms_norm(e.hidden(row, 1), m->weights().output_norm, normed.data(), c.n_embd, c.rms_eps);
    std::vector<uint8_t> scratch(matmul_scratch_bytes(m->weights().output, 1));
    matmul(m->weights().output, normed.data(), 1, logits.data(), c.n_vocab, scratch.data(), pool);
    expect_same(logits, copy_logits(e, row), 0, "row " + std::to_string(row));
    EXPECT_NE(std::memcmp(e.hidden(row, 0), e.hidden(row, 1), static_cast<size_t>(c.n_embd) * sizeof(float)), 0);
  }
  EXPECT_THROW(e.hidden(3, 0), Error);
  EXPECT_THROW(e.logits(3), Error);
}

std::string error_of(Engine& e, const Batch& b) {
  try {
    e.decode(b);
  } catch (const Error& ex) {
    return ex.what();
  }
  return "";
}

TEST(Engine, BadBatchesAreClearErrorsThatChangeNothing) {
  const auto m = Model::load(test::make_tiny("Q4_0"));
  EngineParams p = params(3, 256);
  p.n_batch = 64;
  Engine e(*m, p);
  const int32_t a = e.seq_new(), c = e.seq_new();
  Batch b(128);
  auto expect_error = [&](const std::string& part) {
    const std::string msg = error_of(e, b);
    EXPECT_NE(msg.find(part), std::string::npos) << "got: '" << msg << "', want '" << part << "'";
    EXPECT_EQ(e.seq_length(a), 0);
    EXPECT_EQ(e.seq_length(c), 0);
    b.clear();
  };
  b.add(1, a, 0);
  b.add(2, c, 0);
  b.add(3, a, 1);
  expect_error("must be consecutive");
  b.add(1, a, 5);
  expect_error("expected 0");
  b.add(1, 2, 0);
  expect_error("sequence 2 does not exist");
  b.add(1, a, 0);
  b.add(512, a, 1);
  expect_error("outside the vocabulary");
  b.add(1, a, 0, kOutputHidden);
  expect_error("captures no layer");
  b.add(1, a, 0);
  b.add_tree(2, a, 1, kOutputNone, std::vector<int32_t>{1});
  expect_error("earlier tokens");
  for (int i = 0; i < 65; ++i) b.add(1, a, i);
  expect_error("exceeds n_batch");
  expect_error("empty batch");
  // The KV memory: 256 positions = 4 pages. a takes 3, c wants 2.
  for (int i = 0; i < 64; ++i) b.add(1, a, i);
  e.decode(b);
  b.clear();
  for (int j = 1; j < 3; ++j) {
    for (int i = 0; i < 64; ++i) b.add(1, a, 64 * j + i);
    e.decode(b);
    b.clear();
  }
  for (int i = 0; i < 60; ++i) b.add(1, c, i);
  b.add(1, a, 192);  // a also needs a fourth page: 2 pages for 1 free
  const std::string msg = error_of(e, b);
  EXPECT_NE(msg.find("KV cache full"), std::string::npos) << msg;
  EXPECT_EQ(e.seq_length(c), 0);
  EXPECT_EQ(e.seq_length(a), 192);
  b.clear();
  for (int i = 0; i < 64; ++i) b.add(1, c, i);
  e.decode(b);  // one page was free: fits alone
  EXPECT_EQ(e.seq_length(c), 64);
}

TEST(Engine, SequenceLengthAndTrainedContextLimits) {
  const auto m = Model::load(test::make_tiny("Q4_0"));
  EngineParams p = params(4, 8192);  // beyond the trained 2048 in total is fine...
  Engine e(*m, p);
  EXPECT_EQ(e.n_ctx_seq(), 2048);  // ...each sequence is capped at the trained context
  p.n_ctx_seq = 4096;
  EXPECT_THROW(Engine(*m, p), Error);
  p.allow_beyond_trained = true;
  EXPECT_EQ(Engine(*m, p).n_ctx_seq(), 4096);
  p.capture_layers = {2};
  EXPECT_THROW(Engine(*m, p), Error);
}

}  // namespace
}  // namespace kestrel
