// Exactness on small vocabularies (64 tokens): for each configuration, 10^6
// draws of the sorting-free sampler must fit the sort-based oracle's
// distribution (chi-square goodness of fit; p-values are printed), and the
// surviving set must equal the oracle's exactly. A power check shows the
// test does reject a wrong distribution (FlashInfer's "joint" top-k/top-p
// mode, where top-p measures mass before top-k instead of after).
//
// The draws use fixed seeds, so every run sees the same p-values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "reference_chain.h"
#include "stats.h"
#include "test_util.h"

namespace kestrel::test {
namespace {

constexpr int kVocab = 64;
constexpr int64_t kDraws = 1000000;
constexpr double kAlpha = 1e-4;  // fixed seeds: a p-value below this is a real failure

struct SmallCase {
  std::string name;
  SamplingParams params;
  std::vector<float> logits;
};

void PrintTo(const SmallCase& c, std::ostream* os) { *os << c.name; }

// A tie group straddling rank `rank`: tokens at ids spread over the
// vocabulary all get the logit of the token ranked `rank`.
std::vector<float> with_tie_at_rank(std::vector<float> v, int rank, std::vector<int> ids) {
  std::vector<float> sorted = v;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  for (int id : ids) v[static_cast<size_t>(id)] = sorted[static_cast<size_t>(rank)];
  return v;
}

std::vector<SmallCase> cases() {
  const std::vector<float> g = gaussian_logits(kVocab, 2.0f, 7);
  std::vector<SmallCase> out;
  auto add = [&](std::string name, SamplingParams p, std::vector<float> logits) {
    out.push_back({std::move(name), std::move(p), std::move(logits)});
  };
  SamplingParams p = only({SamplerType::TopK});
  p.top_k = 10;
  add("top_k=10", p, g);
  add("top_k=10 tie over ranks 8..12", p, with_tie_at_rank(g, 8, {3, 17, 40, 61}));
  p = only({SamplerType::TopP});
  p.top_p = 0.9f;
  add("top_p=0.9", p, g);
  p = only({SamplerType::MinP});
  p.min_p = 0.05f;
  add("min_p=0.05", p, g);
  p = only({SamplerType::TopP, SamplerType::Temperature});
  p.top_p = 0.6f;
  p.temp = 1.5f;
  add("top_p=0.6 then temp=1.5", p, g);
  p = SamplingParams{};
  p.seed = 99;
  p.top_k = 20;
  p.top_p = 0.8f;
  p.min_p = 0.02f;
  p.temp = 0.7f;
  add("top_k=20 top_p=0.8 min_p=0.02 temp=0.7", p, g);
  p = SamplingParams{};
  p.seed = 5;
  add("default chain", p, g);
  p = only({SamplerType::Temperature, SamplerType::TopP, SamplerType::MinP});
  p.temp = 0.5f;
  p.top_p = 0.9f;
  p.min_p = 0.1f;
  add("temp=0.5 first, then top_p=0.9 min_p=0.1", p, g);
  p = only({SamplerType::TopP, SamplerType::TopK});
  p.top_p = 0.95f;
  p.top_k = 5;
  add("top_p=0.95 then top_k=5", p, g);
  std::vector<float> holes = gaussian_logits(kVocab, 2.0f, 11);
  for (int i = 0; i < kVocab; i += 4) holes[static_cast<size_t>(i)] = -std::numeric_limits<float>::infinity();
  p = only({SamplerType::TopP, SamplerType::MinP});
  p.top_p = 0.9f;
  p.min_p = 0.01f;
  add("-inf logits, top_p=0.9 min_p=0.01", p, holes);
  p = only({SamplerType::TopK, SamplerType::TopP});
  p.top_k = 12;
  p.top_p = 0.7f;
  add("top_p=0.7 after top_k=12, tie at the top-p edge", p, with_tie_at_rank(g, 3, {0, 33}));
  return out;
}

class ExactSmall : public ::testing::TestWithParam<SmallCase> {};

TEST_P(ExactSmall, SurvivorsEqualOracle) {
  const SmallCase& c = GetParam();
  SamplerChain chain(c.params, kVocab);
  const std::vector<RefCand> ref = ref_chain(c.params, c.logits.data(), kVocab, {});
  std::set<int32_t> want;
  for (const RefCand& r : ref) want.insert(r.id);
  EXPECT_EQ(id_set(chain.candidates(c.logits.data())), want);
}

TEST_P(ExactSmall, MillionDrawsFitOracle) {
  const SmallCase& c = GetParam();
  SamplerChain chain(c.params, kVocab);
  const std::vector<int64_t> counts = count_draws(chain, c.logits, kDraws);
  const std::vector<double> expected = ref_chain_distribution(c.params, c.logits.data(), kVocab, {});
  const Chi2Result r = chi2_test(counts, expected, kDraws);
  report(c.name, r);
  EXPECT_EQ(r.outside, 0) << "drew a token the oracle filters out";
  EXPECT_GT(r.df, 1) << "configuration leaves too few tokens to test";
  EXPECT_GT(r.p_value, kAlpha) << "chi2=" << r.stat << " df=" << r.df;
}

INSTANTIATE_TEST_SUITE_P(Configs, ExactSmall, ::testing::ValuesIn(cases()));

// The same draws must reject a plausible wrong semantics: top-p measured on
// the whole distribution ("joint" mode) instead of among the top-k.
TEST(ExactSmallPower, JointModeIsRejected) {
  const std::vector<float> g = gaussian_logits(kVocab, 2.0f, 7);
  SamplingParams p = only({SamplerType::TopK, SamplerType::TopP});
  p.top_k = 20;
  p.top_p = 0.6f;
  SamplerChain chain(p, kVocab);
  const std::vector<int64_t> counts = count_draws(chain, g, kDraws);
  std::vector<RefCand> all = ref_candidates(g.data(), kVocab);
  std::vector<RefCand> by_k = all, by_p = all;
  ref_top_k(by_k, 20);
  ref_top_p(by_p, 0.6f, 0);
  std::vector<RefCand> joint;
  for (const RefCand& a : by_k) {
    for (const RefCand& b : by_p) {
      if (a.id == b.id) joint.push_back(a);
    }
  }
  std::vector<RefCand> chained = by_k;
  ref_top_p(chained, 0.6f, 0);
  ASSERT_NE(joint.size(), chained.size()) << "pick parameters where the two modes differ";
  const Chi2Result right = chi2_test(counts, ref_distribution(chained, kVocab), kDraws);
  const Chi2Result wrong = chi2_test(counts, ref_distribution(joint, kVocab), kDraws);
  report("power: top-k first (right)", right);
  report("power: joint mode (wrong)", wrong);
  EXPECT_GT(right.p_value, kAlpha);
  EXPECT_TRUE(wrong.outside > 0 || wrong.p_value < 1e-12);
}

// Moving 2% of the best token's probability to the runner-up is visible at
// 10^6 draws: the test is not blind to small biases.
TEST(ExactSmallPower, SmallBiasIsRejected) {
  const std::vector<float> g = gaussian_logits(kVocab, 2.0f, 7);
  SamplingParams p = only({SamplerType::TopP});
  p.top_p = 0.9f;
  SamplerChain chain(p, kVocab);
  const std::vector<int64_t> counts = count_draws(chain, g, kDraws);
  std::vector<double> expected = ref_chain_distribution(p, g.data(), kVocab, {});
  const size_t best = static_cast<size_t>(std::max_element(expected.begin(), expected.end()) - expected.begin());
  // Move 2% of the best token's mass to the second best.
  std::vector<double> sorted = expected;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  const size_t second = static_cast<size_t>(std::find(expected.begin(), expected.end(), sorted[1]) - expected.begin());
  const double shift = 0.02 * expected[best];
  expected[best] -= shift;
  expected[second] += shift;
  const Chi2Result r = chi2_test(counts, expected, kDraws);
  report("power: 2% mass moved (wrong)", r);
  EXPECT_LT(r.p_value, 1e-6);
}

}  // namespace
}  // namespace kestrel::test
