// The kestrel binary as a user meets it: each subcommand's happy path on a
// small model, and every kind of bad input answered with "error: ..." and
// exit status 1 (never a crash or a hang).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_paths.h"

namespace kestrel::test {
namespace {

std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("kestrel_cli_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Runs kestrel with `args`, stderr merged into the captured output.
CommandResult kestrel(const std::string& args) { return run_command(kestrel_bin() + " " + args + " 2>&1"); }

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = tmp("tiny.gguf");
    const auto r = kestrel("synth --shape tiny --type Q8_0 -o " + model_);
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() { std::filesystem::remove(model_); }
  static std::string model_;
};
std::string Cli::model_;

TEST_F(Cli, InspectShowsMetadataAndTensors) {
  const auto r = kestrel("inspect " + model_);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(r.out.find("\"llama\""), std::string::npos);
  EXPECT_NE(r.out.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_NE(r.out.find("q8_0"), std::string::npos);
}

TEST_F(Cli, TokenizeWorksOnVocabOnlyFilesOfOtherArchitectures) {
  const std::string falcon = shared_dir() + "/data/vocab/ggml-vocab-falcon.gguf";
  if (!exists(falcon)) GTEST_SKIP() << "shared data not found: " << falcon;
  const auto r = kestrel("tokenize -m " + falcon + " -p 'Hello world' --ids");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "[9856, 1079]\n");
}

TEST_F(Cli, LogitsPrintsGoldenLayout) {
  const std::string prompts = tmp("prompts.txt");
  std::ofstream(prompts) << "hello there\nsecond line\n";
  const auto r = run_command(kestrel_bin() + " logits -m " + model_ + " -f " + prompts + " --top 5 --greedy 3");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("{\"n_vocab\": 512, \"cases\": [", 0), 0u) << r.out.substr(0, 80);
  EXPECT_NE(r.out.find("\"top5\""), std::string::npos);
  EXPECT_NE(r.out.find("\"greedy_margin\""), std::string::npos);
  std::filesystem::remove(prompts);
}

TEST_F(Cli, BadInputIsAClearErrorWithStatus1) {
  const std::string corrupt = tmp("corrupt.gguf");
  {
    std::ifstream in(model_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(corrupt, std::ios::binary) << bytes.substr(0, bytes.size() / 3);  // truncated
  }
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"frobnicate", "unknown command"},
      {"inspect /nonexistent/model.gguf", "error:"},
      {"inspect " + corrupt, "error: "},
      {"logits -m " + model_, "-f PROMPTS.txt is required"},
      {"logits -m " + model_ + " -f /nonexistent.txt", "cannot open"},
      {"logits -m " + model_ + " -f x --top abc", "expected an integer"},
      {"inspect " + model_ + " --bogus", "unknown argument '--bogus'"},
      {"synth --shape gpt-9 --type Q4_0 -o " + tmp("x.gguf"), "unknown shape 'gpt-9'"},
      {"synth --shape tiny --type Q7_7 -o " + tmp("x.gguf"), "unknown type 'Q7_7'"},
      {"bench -m " + model_ + " -p 16 -n 0 -d 100000000 -r 1", "option -d: 100000000 is out of range [0, 16777216]"},
      {"perplexity -m " + model_ + " -f /nonexistent.txt", "cannot open"},
      {"tokenize -m " + corrupt + " -p hi", "error: "},
  };
  for (const Case& c : cases) {
    const auto r = kestrel(c.args);
    EXPECT_EQ(r.status, 1) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
  std::filesystem::remove(corrupt);
}

// llama-bench's rule: depth may run past the trained context (2048 here),
// with a warning; the row still reports its speed and roofline fraction,
// and --split where the time went.
TEST_F(Cli, BenchRunsPastTheTrainedContextWithAWarning) {
  const auto r = kestrel("bench -m " + model_ + " -p 8 -n 4 -d 2100 -t 1 -r 1 --no-warmup --split");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("warning: " + model_ + ": depth + test length (2108) exceeds the trained context (2048)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("pp8 @ d2100"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tg4 @ d2100"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("% of bw"), std::string::npos) << r.out;
  // --split: the table of where each test's time went.
  EXPECT_NE(r.out.find("| ms/token | matrix products | attention | other |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GB/s = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nISA "), std::string::npos) << "the level the rows ran at: " << r.out;
}

// KESTREL_ISA picks the level bench runs and probes at, and says so.
TEST_F(Cli, BenchNamesTheIsaItRanAt) {
  const auto r = run_command("KESTREL_ISA=scalar " + kestrel_bin() + " bench -m " + model_ +
                             " -p 8 -n 0 -t 1 -r 1 --no-warmup --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"isa\": \"scalar\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"matrix_kernels\": \"scalar: every type"), std::string::npos) << r.out;
}

TEST_F(Cli, PromptLongerThanContextIsAnError) {
  const std::string prompts = tmp("long.txt");
  std::ofstream(prompts) << std::string(3000, 'x') << "\n";  // ~3000 byte tokens > 64
  const auto r = kestrel("logits -m " + model_ + " -f " + prompts + " -c 64");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("context holds 64"), std::string::npos) << r.out;
  std::filesystem::remove(prompts);
}

}  // namespace
}  // namespace kestrel::test
