// Compatibility contract: every golden model in shared/data/golden run
// through `kestrel logits` must match llama.cpp's JSON by the README's rules:
// identical prompt tokens; identical top-1 wherever llama.cpp's top-1/top-2
// margin reaches the tolerance; |Δlogit| within the tolerance over
// llama.cpp's top-20 (0.05 for F16, 0.5 for quantized); identical greedy
// tokens up to the first step whose margin is below the tolerance.
#include <gtest/gtest.h>

#include <cstdlib>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/cpu_features.h"
#include "test_paths.h"

namespace kestrel::test {
namespace {

using nlohmann::json;

struct GoldenCase {
  std::string name;
  std::string prompts;  // prompts file used by llama.cpp
  double tol;
};

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> v;
  for (const char* t : {"F16", "Q8_0", "Q6_K", "Q5_K", "Q5_1", "Q5_0", "Q4_K", "Q4_K_M", "Q4_1", "Q4_0", "Q3_K", "Q2_K"}) {
    v.push_back({std::string("llama-spm-") + t, "prompts.txt", std::string(t) == "F16" ? 0.05 : 0.5});
  }
  v.push_back({"qwen2-gpt2-Q4_K_M", "prompts.txt", 0.5});
  v.push_back({"llama3-bpe-Q4_K", "llama3-bpe-Q4_K.prompts.txt", 0.5});
  return v;
}

class GoldenLogits : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenLogits, MatchesLlamaCpp) {
  const GoldenCase& gc = GetParam();
  const std::string dir = golden_dir();
  const std::string model = dir + "/" + gc.name + ".gguf";
  if (!exists(model)) GTEST_SKIP() << "shared data not found: " << model;
  if (const char* isa_env = std::getenv("KESTREL_ISA")) {
    Isa isa;
    if (parse_isa(isa_env, isa) && !cpu_supports(isa)) GTEST_SKIP() << "this CPU lacks KESTREL_ISA=" << isa_env;
  }
  const std::string cmd = kestrel_bin() + " logits -m " + model + " -f " + dir + "/" + gc.prompts +
                          " --top 20 --greedy 16 -t 2";
  const CommandResult r = run_command(cmd);
  ASSERT_EQ(r.status, 0) << cmd;
  const json ours = json::parse(r.out);
  std::ifstream in(dir + "/" + gc.name + ".json");
  const json ref = json::parse(in);
  ASSERT_EQ(ours["n_vocab"], ref["n_vocab"]);
  ASSERT_EQ(ours["cases"].size(), ref["cases"].size());

  double worst = 0.0;
  for (size_t c = 0; c < ref["cases"].size(); ++c) {
    const json& rc = ref["cases"][c];
    const json& oc = ours["cases"][c];
    SCOPED_TRACE("prompt " + std::to_string(c) + ": " + rc["prompt"].get<std::string>());
    ASSERT_EQ(oc["tokens"], rc["tokens"]) << "prompt tokens differ";
    const auto& rtop = rc["top20"];
    const auto& otop = oc["top20"];
    ASSERT_EQ(otop.size(), rtop.size());
    for (size_t pos = 0; pos < rtop.size(); ++pos) {
      std::map<int, double> mine;
      for (const auto& pair : otop[pos]) mine[pair[0].get<int>()] = pair[1].get<double>();
      const double margin = rtop[pos][0][1].get<double>() - rtop[pos][1][1].get<double>();
      if (margin >= gc.tol) {
        EXPECT_EQ(otop[pos][0][0].get<int>(), rtop[pos][0][0].get<int>()) << "top-1 differs at position " << pos;
      }
      // Our top-20 may rank a near-tie differently; any of llama.cpp's top-20
      // missing from ours must then sit below our 20th logit within tolerance.
      const double our_floor = otop[pos].back()[1].get<double>();
      for (const auto& pair : rtop[pos]) {
        const int id = pair[0].get<int>();
        const double want = pair[1].get<double>();
        const auto it = mine.find(id);
        if (it == mine.end()) {
          EXPECT_LE(want - our_floor, gc.tol) << "token " << id << " missing from our top-20 at position " << pos;
          continue;
        }
        const double d = std::fabs(it->second - want);
        worst = std::max(worst, d);
        EXPECT_LE(d, gc.tol) << "logit of token " << id << " at position " << pos;
      }
    }
    const auto& rg = rc["greedy"];
    const auto& rm = rc["greedy_margin"];
    for (size_t j = 0; j < rg.size(); ++j) {
      if (rm[j].get<double>() < gc.tol) break;  // a near-tie may break either way from here on
      ASSERT_EQ(oc["greedy"][j], rg[j]) << "greedy token " << j;
    }
  }
  RecordProperty("max_abs_logit_diff", std::to_string(worst));
  std::printf("[ golden ] %-20s max |dlogit| over top-20 = %.4f (tolerance %.2f)\n", gc.name.c_str(), worst, gc.tol);
}

INSTANTIATE_TEST_SUITE_P(AllGoldenModels, GoldenLogits, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace kestrel::test
