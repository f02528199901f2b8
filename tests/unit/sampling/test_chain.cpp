// SamplerChain as a library: reproducibility (fixed seed, reset, scalar vs
// AVX2), the batched API, the accept() convention, sampler-order parsing,
// parameter errors, and the number of rejection rounds top-p needs.
#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>

#include "core/cpu_features.h"
#include "core/error.h"
#include "sampling/row_engine.h"
#include "sampling/sampling_math.h"
#include "test_util.h"

namespace kestrel::test {
namespace {

constexpr int kV = 32000;

// Rows of logits for generation-like runs, made once.
const std::vector<float>& step_row(int s) {
  static std::vector<std::vector<float>> rows;
  while (static_cast<int>(rows.size()) <= s) {
    rows.push_back(gaussian_logits(kV, 3.0f, 1000 + rows.size()));
  }
  return rows[static_cast<size_t>(s)];
}

// A generation-like run: a new row of logits per step, tokens accepted.
std::vector<int32_t> run(SamplerChain& chain, int steps, int first_row) {
  std::vector<int32_t> out;
  for (int s = 0; s < steps; ++s) {
    out.push_back(chain.sample(step_row(first_row + s).data()));
    chain.accept(out.back());
  }
  return out;
}

std::vector<SamplingParams> variety() {
  std::vector<SamplingParams> v;
  SamplingParams p;
  p.seed = 42;
  v.push_back(p);  // default chain
  p = only({SamplerType::TopP}, 43);
  v.push_back(p);
  p = only({SamplerType::MinP, SamplerType::Temperature}, 44);
  p.temp = 1.3f;
  v.push_back(p);
  p = SamplingParams{};
  p.seed = 45;
  p.top_k = 0;
  p.penalty_repeat = 1.2f;
  p.xtc_probability = 0.5f;
  p.typical_p = 0.9f;
  v.push_back(p);
  p = SamplingParams{};
  p.seed = 46;
  p.mirostat = 2;
  v.push_back(p);
  return v;
}

TEST(Chain, FixedSeedIsReproducible) {
  for (const SamplingParams& p : variety()) {
    SamplerChain a(p, kV), b(p, kV);
    const std::vector<int32_t> ta = run(a, 60, 0);
    EXPECT_EQ(ta, run(b, 60, 0));
    a.reset();
    EXPECT_EQ(ta, run(a, 60, 0)) << "reset() must restart the same stream";
    SamplingParams other = p;
    other.seed = p.seed + 1000;
    SamplerChain c(other, kV);
    EXPECT_NE(ta, run(c, 60, 0)) << "a different seed should give a different sequence";
  }
}

TEST(Chain, ScalarAndAvx2GiveTheSameTokens) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU without AVX2";
  for (const SamplingParams& p : variety()) {
    set_force_scalar(true);
    SamplerChain a(p, kV);
    const std::vector<int32_t> scalar = run(a, 40, 10);
    set_force_scalar(false);
    SamplerChain b(p, kV);
    EXPECT_EQ(scalar, run(b, 40, 10));
  }
  set_force_scalar(false);
}

TEST(Chain, RandomSeedIsResolved) {
  SamplingParams p;
  p.seed = kRandomSeed;
  SamplerChain a(p, kV), b(p, kV);
  EXPECT_NE(a.seed(), kRandomSeed);
  EXPECT_NE(a.seed(), b.seed());
}

TEST(Chain, BatchEqualsOneRowAtATime) {
  const std::vector<SamplingParams> ps = variety();
  std::vector<SamplerChain> solo, batch;
  for (const SamplingParams& p : ps) {
    solo.emplace_back(p, kV);
    batch.emplace_back(p, kV);
  }
  std::vector<SamplerChain*> ptrs;
  for (auto& c : batch) ptrs.push_back(&c);
  for (int step = 0; step < 10; ++step) {
    std::vector<float> rows;
    for (size_t r = 0; r < ps.size(); ++r) {
      const std::vector<float> row = gaussian_logits(kV, 3.0f, 77 * step + r);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    std::vector<int32_t> out(ps.size());
    sample_batch(ptrs, rows.data(), kV, out);
    for (size_t r = 0; r < ps.size(); ++r) {
      EXPECT_EQ(out[r], solo[r].sample(rows.data() + r * kV)) << "row " << r;
      solo[r].accept(out[r]);
      batch[r].accept(out[r]);
    }
  }
  std::vector<int32_t> small(1);
  EXPECT_THROW(sample_batch(ptrs, nullptr, kV, small), Error);
}

TEST(Chain, PenaltiesSeeOnlyAcceptedTokens) {
  SamplingParams p = only({SamplerType::Penalties});
  p.penalty_repeat = 2.0f;
  std::vector<float> x(100, 1.0f);
  x[7] = 3.0f;
  SamplerChain chain(p, 100);
  for (int i = 0; i < 20; ++i) chain.sample(x.data());  // not accepted: no effect
  auto logit_of = [&](int32_t t) {
    for (const TokenProb& c : chain.candidates(x.data())) {
      if (c.token == t) return c.logit;
    }
    return 0.0f;
  };
  EXPECT_EQ(logit_of(7), 3.0f);
  chain.accept(7);
  EXPECT_EQ(logit_of(7), 1.5f);
  EXPECT_THROW(chain.accept(100), Error);
}

TEST(Chain, ParameterErrors) {
  SamplingParams p;
  p.logit_bias = {{32000, 1.0f}};
  EXPECT_THROW(SamplerChain(p, kV), Error);
  EXPECT_THROW(SamplerChain(SamplingParams{}, 0), Error);
  p = SamplingParams{};
  p.penalty_repeat = 1.1f;
  p.penalty_last_n = -1;
  EXPECT_THROW(SamplerChain(p, kV), Error);  // -1 means the context size, unknown here
  SamplerContext ctx;
  ctx.n_ctx = 4096;
  EXPECT_NO_THROW(SamplerChain(p, kV, ctx));
  p = SamplingParams{};
  p.mirostat = 3;
  EXPECT_THROW(SamplerChain(p, kV), Error);
}

TEST(Chain, SamplerOrderParsing) {
  EXPECT_EQ(parse_sampler_chars("edskypmxt"), SamplingParams{}.samplers);
  EXPECT_EQ(parse_sampler_names("penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature"),
            SamplingParams{}.samplers);
  EXPECT_EQ(parse_sampler_names("top-k;nucleus;temp;typical;min-p"),
            (std::vector<SamplerType>{SamplerType::TopK, SamplerType::TopP, SamplerType::Temperature,
                                      SamplerType::TypicalP, SamplerType::MinP}));
  EXPECT_THROW(parse_sampler_names("top_k;bogus"), Error);
  EXPECT_THROW(parse_sampler_chars("kq"), Error);
  try {
    parse_sampler_chars("ki");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("infill"), std::string::npos) << e.what();
  }
  for (SamplerType t : SamplingParams{}.samplers) {
    EXPECT_EQ(parse_sampler_names(sampler_type_name(t)), std::vector<SamplerType>{t});
    EXPECT_EQ(parse_sampler_chars(std::string(1, sampler_type_char(t))), std::vector<SamplerType>{t});
  }
}

TEST(Chain, DescribeListsActiveSamplers) {
  EXPECT_EQ(SamplerChain(SamplingParams{}, kV).describe(),
            "logits -> top_k -> top_p -> min_p -> temperature -> dist");
  SamplingParams p;
  p.mirostat = 2;
  p.logit_bias = {{1, 1.0f}};
  EXPECT_EQ(SamplerChain(p, kV).describe(), "logits -> logit-bias -> temperature -> mirostat-v2");
}

// Rounds of the rejection sampler: each round halves the logit interval, so
// even small p (where the first draw is usually rejected) needs few.
TEST(Chain, TopPRejectionRoundsAreFew) {
  sampling::RowEngine e;
  sampling::Rng rng(1, 0);
  for (float p : {0.95f, 0.5f, 0.1f}) {
    int64_t total = 0, worst = 0;
    for (int i = 0; i < 300; ++i) {
      const std::vector<float> row = gaussian_logits(kV, 3.0f, 5000 + i);
      e.begin(row.data(), kV);
      const sampling::PendingTopP pend{p, e.total_mass()};
      e.sample(&pend, 1.0f, rng);
      total += e.rounds_last();
      worst = std::max(worst, e.rounds_last());
    }
    std::printf("[rounds] top_p=%.2f V=%d: mean %.3f, max %lld over 300 rows\n", p, kV,
                static_cast<double>(total) / 300, static_cast<long long>(worst));
    EXPECT_LT(static_cast<double>(total) / 300, p > 0.9f ? 1.3 : 4.0) << "p=" << p;
    EXPECT_LE(worst, 24) << "p=" << p;
  }
}

}  // namespace
}  // namespace kestrel::test
