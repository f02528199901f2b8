// The `kestrel run` sampling flags (tools/sampling_flags.cpp, compiled into
// this test from the tools folder since it lives in the CLI executable):
// llama.cpp's names and value formats, and clear errors for bad values.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "../../../tools/sampling_flags.cpp"

namespace kestrel {
namespace {

// Feeds "--flag value --flag value ..." through parse_sampling_flag.
SamplingParams parse(std::deque<std::string> args) {
  SamplingParams p;
  while (!args.empty()) {
    const std::string flag = args.front();
    args.pop_front();
    auto next = [&] {
      if (args.empty()) throw Error(flag + ": missing value");
      std::string v = args.front();
      args.pop_front();
      return v;
    };
    if (!parse_sampling_flag(flag, next, p)) throw Error("not a sampling flag: " + flag);
  }
  return p;
}

std::string error_of(std::deque<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SamplingFlags, LlamaCppNamesSetTheirFields) {
  const SamplingParams p = parse({"--temp", "0.5", "--top-k", "7", "--top-p", "0.9", "--min-p", "0.1",
                                  "--typical", "0.8", "--top-nsigma", "1.5", "--xtc-probability", "0.3",
                                  "--xtc-threshold", "0.2", "--repeat-last-n", "-1", "--repeat-penalty",
                                  "1.1", "--presence-penalty", "0.4", "--frequency-penalty", "0.6",
                                  "--dry-multiplier", "0.8", "--dry-base", "2", "--dry-allowed-length", "3",
                                  "--dry-penalty-last-n", "128", "--dynatemp-range", "0.3", "--dynatemp-exp",
                                  "1.7", "--mirostat", "2", "--mirostat-lr", "0.2", "--mirostat-ent", "4",
                                  "-s", "1234", "--ignore-eos"});
  EXPECT_EQ(p.temp, 0.5f);
  EXPECT_EQ(p.top_k, 7);
  EXPECT_EQ(p.top_p, 0.9f);
  EXPECT_EQ(p.min_p, 0.1f);
  EXPECT_EQ(p.typical_p, 0.8f);
  EXPECT_EQ(p.top_n_sigma, 1.5f);
  EXPECT_EQ(p.xtc_probability, 0.3f);
  EXPECT_EQ(p.xtc_threshold, 0.2f);
  EXPECT_EQ(p.penalty_last_n, -1);
  EXPECT_EQ(p.penalty_repeat, 1.1f);
  EXPECT_EQ(p.penalty_present, 0.4f);
  EXPECT_EQ(p.penalty_freq, 0.6f);
  EXPECT_EQ(p.dry_multiplier, 0.8f);
  EXPECT_EQ(p.dry_base, 2.0f);
  EXPECT_EQ(p.dry_allowed_length, 3);
  EXPECT_EQ(p.dry_penalty_last_n, 128);
  EXPECT_EQ(p.dynatemp_range, 0.3f);
  EXPECT_EQ(p.dynatemp_exponent, 1.7f);
  EXPECT_EQ(p.mirostat, 2);
  EXPECT_EQ(p.mirostat_eta, 0.2f);
  EXPECT_EQ(p.mirostat_tau, 4.0f);
  EXPECT_EQ(p.seed, 1234u);
  EXPECT_TRUE(p.ignore_eos);
}

TEST(SamplingFlags, AliasesAndSpecialValues) {
  EXPECT_EQ(parse({"--seed", "-1"}).seed, kRandomSeed);
  EXPECT_EQ(parse({"--seed", "4294967295"}).seed, 0xFFFFFFFFu);
  EXPECT_EQ(parse({"--temp", "-2"}).temp, 0.0f);  // llama.cpp clamps at 0 (greedy)
  EXPECT_EQ(parse({"--temperature", "1.5"}).temp, 1.5f);
  EXPECT_EQ(parse({"--top-n-sigma", "2"}).top_n_sigma, 2.0f);
  EXPECT_EQ(parse({"--typical-p", "0.5"}).typical_p, 0.5f);
  EXPECT_EQ(parse({"--samplers", "top_k;temperature"}).samplers,
            (std::vector<SamplerType>{SamplerType::TopK, SamplerType::Temperature}));
  EXPECT_EQ(parse({"--sampler-seq", "pk"}).samplers,
            (std::vector<SamplerType>{SamplerType::TopP, SamplerType::TopK}));
  EXPECT_EQ(parse({"--sampling-seq", "edskypmxt"}).samplers, SamplingParams{}.samplers);
}

TEST(SamplingFlags, LogitBias) {
  const SamplingParams p = parse({"-l", "15043+1", "--logit-bias", "2-0.5", "-l", "7-inf", "-l", "9+1e-3"});
  ASSERT_EQ(p.logit_bias.size(), 4u);
  EXPECT_EQ(p.logit_bias[0].token, 15043);
  EXPECT_EQ(p.logit_bias[0].bias, 1.0f);
  EXPECT_EQ(p.logit_bias[1].token, 2);
  EXPECT_EQ(p.logit_bias[1].bias, -0.5f);
  EXPECT_EQ(p.logit_bias[2].bias, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(p.logit_bias[3].bias, 1e-3f);
  for (const char* v : {"15043", "abc+1", "5+", "+1", "-3+1", "5*2", "5+1x"}) {
    EXPECT_NE(error_of({"-l", v}).find("--logit-bias"), std::string::npos) << v;
    EXPECT_NE(error_of({"--logit-bias", v}).find(v), std::string::npos) << v;
  }
}

TEST(SamplingFlags, DrySequenceBreakers) {
  EXPECT_EQ(parse({"--dry-sequence-breaker", "x"}).dry_sequence_breakers, std::vector<std::string>{"x"});
  EXPECT_EQ(parse({"--dry-sequence-breaker", "x", "--dry-sequence-breaker", "yz"}).dry_sequence_breakers,
            (std::vector<std::string>{"x", "yz"}));
  EXPECT_TRUE(parse({"--dry-sequence-breaker", "none"}).dry_sequence_breakers.empty());
  EXPECT_EQ(parse({}).dry_sequence_breakers, (std::vector<std::string>{"\n", ":", "\"", "*"}));
}

TEST(SamplingFlags, BadValuesAreClearErrors) {
  EXPECT_EQ(error_of({"--top-p", "abc"}), "--top-p: expected a number in [0, 1], got 'abc'");
  EXPECT_EQ(error_of({"--top-p", "1.5"}), "--top-p: expected a number in [0, 1], got '1.5'");
  EXPECT_EQ(error_of({"--top-k", "4.5"}).rfind("--top-k: expected an integer", 0), 0u);
  EXPECT_NE(error_of({"--temp", "0.8x"}).find("'0.8x'"), std::string::npos);
  EXPECT_NE(error_of({"--temp", ""}).find("--temp"), std::string::npos);
  EXPECT_NE(error_of({"--mirostat", "3"}).find("--mirostat"), std::string::npos);
  EXPECT_NE(error_of({"--repeat-last-n", "-2"}).find("--repeat-last-n"), std::string::npos);
  EXPECT_NE(error_of({"--dry-base", "0.5"}).find(">= 1"), std::string::npos);
  EXPECT_NE(error_of({"--min-p", "nan"}).find("--min-p"), std::string::npos);
  EXPECT_NE(error_of({"--samplers", "top_k;foo"}).find("foo"), std::string::npos);
  EXPECT_NE(error_of({"--sampling-seq", "kz"}).find("--sampling-seq"), std::string::npos);
  EXPECT_NE(error_of({"--seed", "-5"}).find("--seed"), std::string::npos);
}

TEST(SamplingFlags, OtherFlagsAreLeftAlone) {
  SamplingParams p;
  bool read = false;
  auto next = [&] {
    read = true;
    return std::string("1");
  };
  EXPECT_FALSE(parse_sampling_flag("--model", next, p));
  EXPECT_FALSE(parse_sampling_flag("-n", next, p));
  EXPECT_FALSE(read);
  EXPECT_TRUE(parse_sampling_flag("--ignore-eos", next, p));
  EXPECT_FALSE(read) << "a switch takes no value";
}

TEST(SamplingFlags, HelpListsEveryFlagWithDefaults) {
  const std::string h = sampling_flags_help();
  for (const char* f : {"--temp", "--top-k", "--top-p", "--min-p", "--typical", "--top-nsigma",
                        "--xtc-probability", "--xtc-threshold", "--repeat-last-n", "--repeat-penalty",
                        "--presence-penalty", "--frequency-penalty", "--dry-multiplier", "--dry-base",
                        "--dry-allowed-length", "--dry-penalty-last-n", "--dry-sequence-breaker",
                        "--dynatemp-range", "--dynatemp-exp", "--mirostat", "--mirostat-lr",
                        "--mirostat-ent", "--seed", "--samplers", "--sampling-seq", "--logit-bias",
                        "--ignore-eos"}) {
    EXPECT_NE(h.find(f), std::string::npos) << f;
  }
  EXPECT_NE(h.find("(default: 0.80)"), std::string::npos);
  EXPECT_NE(h.find("(default: 40)"), std::string::npos);
  EXPECT_NE(h.find("edskypmxt"), std::string::npos);
}

}  // namespace
}  // namespace kestrel
