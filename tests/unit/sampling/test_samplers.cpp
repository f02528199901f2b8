// Each sampler of the chain against the sort-based oracle (surviving set,
// logits and probabilities through SamplerChain::candidates, and draws for
// the random ones), plus the edge cases the issue lists: ties, k >= vocab,
// p = 1, -inf logits, one dominant token, NaN / +inf input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "reference_chain.h"
#include "sampling/penalties.h"
#include "stats.h"
#include "test_util.h"

namespace kestrel::test {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kV = 64;

// candidates() must list exactly the oracle's candidates, with its logits
// (bit for bit: the same float operations) and probabilities.
void expect_candidates_match(SamplerChain& chain, const SamplingParams& p,
                             const std::vector<float>& logits, const RefInputs& in = {}) {
  const std::vector<TokenProb> got = chain.candidates(logits.data());
  std::vector<RefCand> ref = ref_chain(p, logits.data(), static_cast<int>(logits.size()), in);
  std::map<int32_t, float> want;
  for (const RefCand& r : ref) want[r.id] = r.logit;
  ASSERT_EQ(got.size(), want.size());
  const std::vector<double> dist = ref_distribution(ref, static_cast<int>(logits.size()));
  for (const TokenProb& t : got) {
    ASSERT_TRUE(want.count(t.token)) << "token " << t.token << " should have been filtered";
    EXPECT_EQ(t.logit, want[t.token]) << "token " << t.token;
    EXPECT_NEAR(t.prob, dist[static_cast<size_t>(t.token)], 1e-6) << "token " << t.token;
  }
}

void expect_draws_fit(SamplerChain& chain, const SamplingParams& p, const std::vector<float>& logits,
                      const std::string& name, int64_t draws = 200000) {
  const std::vector<int64_t> counts = count_draws(chain, logits, draws);
  const Chi2Result r = chi2_test(counts, ref_chain_distribution(p, logits.data(), kV, {}), draws);
  report(name, r);
  EXPECT_EQ(r.outside, 0);
  EXPECT_GT(r.p_value, 1e-4);
}

TEST(SamplerEdges, TopKAtLeastVocabKeepsEverything) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 1);
  for (int k : {kV, kV + 100}) {
    SamplingParams p = only({SamplerType::TopK});
    p.top_k = k;
    SamplerChain chain(p, kV);
    EXPECT_EQ(chain.candidates(g.data()).size(), static_cast<size_t>(kV));
  }
}

TEST(SamplerEdges, AllTiedTopKKeepsLowestIds) {
  const std::vector<float> flat(kV, 0.25f);
  SamplingParams p = only({SamplerType::TopK});
  p.top_k = 5;
  SamplerChain chain(p, kV);
  EXPECT_EQ(id_set(chain.candidates(flat.data())), (std::set<int32_t>{0, 1, 2, 3, 4}));
  for (int i = 0; i < 1000; ++i) EXPECT_LT(chain.sample(flat.data()), 5);
}

TEST(SamplerEdges, TopPOneKeepsAllAndZeroKeepsBest) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 2);
  SamplingParams p = only({SamplerType::TopP});
  p.top_p = 1.0f;
  SamplerChain all(p, kV);
  EXPECT_EQ(all.candidates(g.data()).size(), static_cast<size_t>(kV));
  p.top_p = 0.0f;
  SamplerChain best(p, kV);
  const int32_t argmax = static_cast<int32_t>(std::max_element(g.begin(), g.end()) - g.begin());
  EXPECT_EQ(id_set(best.candidates(g.data())), std::set<int32_t>{argmax});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(best.sample(g.data()), argmax);
}

TEST(SamplerEdges, NegInfTokensAreCandidatesButNeverDrawn) {
  // 60 of 64 logits are -inf; top-k 10 keeps 4 finite and 6 -inf candidates,
  // as llama.cpp does, but only finite ones can be drawn.
  std::vector<float> x(kV, kNegInf);
  x[7] = 1.0f, x[20] = 0.5f, x[33] = 2.0f, x[50] = -1.0f;
  SamplingParams p = only({SamplerType::TopK, SamplerType::TopP, SamplerType::Temperature});
  p.top_k = 10;
  p.top_p = 0.99f;
  p.temp = 0.9f;
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, x);
  for (int i = 0; i < 5000; ++i) {
    const int32_t t = chain.sample(x.data());
    EXPECT_TRUE(t == 7 || t == 20 || t == 33 || t == 50) << t;
  }
}

TEST(SamplerEdges, DominantTokenAlwaysWins) {
  std::vector<float> x = gaussian_logits(kV, 1.0f, 3);
  x[41] = 1000.0f;
  for (SamplingParams p : {SamplingParams{}, only({SamplerType::TopP}), only({SamplerType::MinP}),
                           only({SamplerType::TopK})}) {
    p.seed = 3;
    SamplerChain chain(p, kV);
    for (int i = 0; i < 500; ++i) ASSERT_EQ(chain.sample(x.data()), 41);
  }
}

TEST(SamplerEdges, InvalidLogitsAreClearErrors) {
  std::vector<float> x = gaussian_logits(kV, 1.0f, 4);
  SamplerChain chain(SamplingParams{}, kV);
  x[13] = std::numeric_limits<float>::quiet_NaN();
  try {
    chain.sample(x.data());
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("13"), std::string::npos) << e.what();
  }
  x[13] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(chain.sample(x.data()), Error);
  const std::vector<float> dead(kV, kNegInf);
  try {
    chain.sample(dead.data());
    FAIL() << "all -inf accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("-inf"), std::string::npos) << e.what();
  }
}

TEST(SamplerEdges, GreedyTakesTheBestLowestId) {
  std::vector<float> x = gaussian_logits(kV, 2.0f, 5);
  const float best = *std::max_element(x.begin(), x.end());
  x[9] = best;  // tie with the argmax; id 9 may or may not be the lower one
  int32_t want = 0;
  while (x[static_cast<size_t>(want)] != best) ++want;
  for (float temp : {0.0f, -1.0f}) {
    SamplingParams p;
    p.temp = temp;
    p.seed = 6;
    SamplerChain chain(p, kV);
    for (int i = 0; i < 200; ++i) ASSERT_EQ(chain.sample(x.data()), want);
  }
}

TEST(SamplerEdges, MinKeepIsHonoured) {
  const std::vector<float> g = gaussian_logits(kV, 4.0f, 6);
  for (SamplerType t : {SamplerType::TopP, SamplerType::MinP}) {
    SamplingParams p = only({t});
    p.top_p = 0.01f;
    p.min_p = 0.9f;
    p.min_keep = 7;
    SamplerChain chain(p, kV);
    expect_candidates_match(chain, p, g);
    EXPECT_EQ(chain.candidates(g.data()).size(), 7u);
  }
  SamplingParams p = only({SamplerType::TopP, SamplerType::MinP});
  p.top_p = 0.5f;
  p.min_p = 0.3f;
  p.min_keep = 4;
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, g);
}

TEST(SamplerEdges, MinPAboveOneKeepsTheBest) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 7);
  SamplingParams p = only({SamplerType::MinP});
  p.min_p = 1.5f;
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, g);
  EXPECT_EQ(chain.candidates(g.data()).size(), 1u);
}

TEST(Samplers, LogitBiasAndIgnoreEos) {
  const std::vector<float> g = gaussian_logits(kV, 1.0f, 8);
  SamplingParams p;
  p.seed = 9;
  p.logit_bias = {{3, 5.0f}, {4, -2.0f}, {3, 1.0f}, {10, kNegInf}};
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, g);
  p.logit_bias.clear();
  p.ignore_eos = true;
  SamplerContext ctx;
  ctx.eog_tokens = {static_cast<int32_t>(std::max_element(g.begin(), g.end()) - g.begin())};
  SamplerChain no_eos(p, kV, ctx);
  for (int i = 0; i < 2000; ++i) ASSERT_NE(no_eos.sample(g.data()), ctx.eog_tokens[0]);
}

TEST(Samplers, PenaltiesOverTheLastNTokens) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 10);
  SamplingParams p;
  p.seed = 11;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.penalty_last_n = 8;
  p.penalty_repeat = 1.3f;
  p.penalty_freq = 0.2f;
  p.penalty_present = 0.5f;
  SamplerChain chain(p, kV);
  RefInputs in;
  std::mt19937 gen(1);
  for (int i = 0; i < 30; ++i) {  // longer than the window: old tokens must leave it
    const int32_t t = static_cast<int32_t>(gen() % 12);
    chain.accept(t);
    in.history.push_back(t);
  }
  expect_candidates_match(chain, p, g, in);
  chain.reset();
  expect_candidates_match(chain, p, g, {});
}

// Histories with planted repeats, checked against the oracle's naive
// definition of DRY (every earlier end point, every match length).
TEST(Samplers, DryMatchesNaiveDefinition) {
  const std::vector<float> g = gaussian_logits(kV, 1.0f, 12);
  SamplingParams p = only({SamplerType::Dry});
  p.dry_multiplier = 0.8f;
  p.dry_base = 1.75f;
  p.dry_allowed_length = 2;
  p.dry_penalty_last_n = 40;
  SamplerContext ctx;
  ctx.dry_breaker_sequences = {{5}, {6, 7}, {8, 9, 10}};
  std::mt19937 gen(2);
  int penalised_trials = 0;
  for (int trial = 0; trial < 40; ++trial) {
    SamplerChain chain(p, kV, ctx);
    RefInputs in;
    in.dry_breakers = ctx.dry_breaker_sequences;
    std::vector<int32_t> base;
    for (int i = 0; i < 6; ++i) base.push_back(static_cast<int32_t>(gen() % 16));
    const int len = 10 + static_cast<int>(gen() % 50);
    for (int i = 0; i < len; ++i) {
      // Mostly copies of the base phrase (repeats), sometimes noise or a breaker.
      int32_t t = base[static_cast<size_t>(i) % base.size()];
      if (gen() % 7 == 0) t = static_cast<int32_t>(gen() % 12);
      chain.accept(t);
      in.history.push_back(t);
    }
    expect_candidates_match(chain, p, g, in);
    const std::vector<RefCand> ref = ref_chain(p, g.data(), kV, in);
    bool changed = false;
    for (const RefCand& r : ref) changed |= r.logit != g[static_cast<size_t>(r.id)];
    penalised_trials += changed;
  }
  EXPECT_GT(penalised_trials, 20) << "the histories should trigger DRY most of the time";
}

TEST(Samplers, DryBreakersFromStrings) {
  // pieces: 0 "a", 1 "b", 2 "\n", 3 "x:", 4 "c*", 5 "zq", 6 "q", 7 "r"
  const std::vector<std::string> pieces = {"a", "b", "\n", "x:", "c*", "zq", "q", "r"};
  auto to_piece = [&](int32_t t) { return pieces[static_cast<size_t>(t)]; };
  auto tokenize = [&](const std::string& s) {
    std::vector<int32_t> out;
    for (char ch : s) {
      for (size_t t = 0; t < pieces.size(); ++t) {
        if (pieces[t] == std::string(1, ch)) out.push_back(static_cast<int32_t>(t));
      }
    }
    return out;
  };
  const sampling::DryBreakers b =
      sampling::Dry::breakers_from_strings({"\n", ":", "qr"}, 8, to_piece, tokenize);
  auto tails = [&](int32_t head) {
    std::set<std::vector<int32_t>> out;
    auto range = b.equal_range(head);
    for (auto it = range.first; it != range.second; ++it) out.insert(it->second);
    return out;
  };
  EXPECT_EQ(tails(2), (std::set<std::vector<int32_t>>{{}}));      // "\n" itself
  EXPECT_EQ(tails(3), (std::set<std::vector<int32_t>>{{}}));      // contains ':'
  EXPECT_EQ(tails(5), (std::set<std::vector<int32_t>>{{7}}));     // "zq" ends with "q" of "qr": needs "r"
  EXPECT_EQ(tails(6), (std::set<std::vector<int32_t>>{{7}}));
  EXPECT_TRUE(tails(0).empty());
  EXPECT_TRUE(tails(4).empty());
}

TEST(Samplers, TopNSigmaMatchesOracle) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 13);
  for (float n : {0.5f, 1.0f, 2.5f}) {
    SamplingParams p;
    p.top_n_sigma = n;
    p.top_k = 0;
    p.seed = 14;
    SamplerChain chain(p, kV);
    expect_candidates_match(chain, p, g);
  }
}

TEST(Samplers, TypicalMatchesOracle) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 15);
  SamplingParams p;
  p.typical_p = 0.7f;
  p.top_k = 0;
  p.seed = 16;
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, g);
  expect_draws_fit(chain, p, g, "typical_p=0.7 in the default chain");
}

TEST(Samplers, XtcMatchesOracle) {
  const std::vector<float> g = gaussian_logits(kV, 1.5f, 17);
  SamplingParams p;
  p.xtc_threshold = 0.05f;
  p.xtc_probability = 1.0f;
  p.top_k = 0;
  p.seed = 18;
  SamplerChain always(p, kV);
  expect_candidates_match(always, p, g);
  p.xtc_probability = 0.5f;
  SamplerChain half(p, kV);
  expect_draws_fit(half, p, g, "xtc p=0.5 threshold=0.05 (mixture)");
}

TEST(Samplers, DynamicTemperatureMatchesOracle) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 19);
  SamplingParams p;
  p.temp = 0.9f;
  p.dynatemp_range = 0.5f;
  p.dynatemp_exponent = 1.5f;
  p.top_k = 20;
  p.seed = 20;
  SamplerChain chain(p, kV);
  expect_candidates_match(chain, p, g);
}

// Mirostat's first draw (mu = 2 tau) over many seeds, and its mu update.
void check_mirostat(int version, float temp) {
  const std::vector<float> g = gaussian_logits(kV, 2.0f, 21);
  SamplingParams p;
  p.mirostat = version;
  p.temp = temp;
  p.mirostat_tau = 3.0f;
  p.mirostat_eta = 0.1f;
  const std::vector<double> want = version == 1 ? ref_mirostat_v1(g.data(), kV, temp, 6.0f)
                                                : ref_mirostat_v2(g.data(), kV, temp, 6.0f);
  constexpr int64_t kDraws = 100000;
  std::vector<int64_t> counts(kV, 0);
  for (int64_t i = 0; i < kDraws; ++i) {
    p.seed = static_cast<uint32_t>(i + 1);
    SamplerChain chain(p, kV);
    const int32_t t = chain.sample(g.data());
    ++counts[static_cast<size_t>(t)];
    if (i < 20) {
      const float surprise = -std::log2(static_cast<float>(want[static_cast<size_t>(t)]));
      EXPECT_NEAR(chain.mirostat_mu(), 6.0f - 0.1f * (surprise - 3.0f), 1e-4);
    }
  }
  const Chi2Result r = chi2_test(counts, want, kDraws);
  report("mirostat v" + std::to_string(version) + " first draw", r);
  EXPECT_EQ(r.outside, 0);
  EXPECT_GT(r.p_value, 1e-4);
}

TEST(Samplers, MirostatV1) { check_mirostat(1, 0.8f); }
TEST(Samplers, MirostatV2) { check_mirostat(2, 1.0f); }

}  // namespace
}  // namespace kestrel::test
