// llama.cpp's tokenizer test vectors: every vocabulary in shared/data/vocab
// with .inp/.out files must reproduce the expected ids exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/error.h"
#include "test_helpers.h"

namespace kestrel::test {
namespace {

class VocabVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, MatchesExpectedIds) {
  const std::string path = vocab_path(GetParam());
  if (!std::filesystem::exists(path) || !std::filesystem::exists(path + ".inp")) {
    GTEST_SKIP() << "missing " << path << "(.inp/.out)";
  }
  const Tokenizer* tok = nullptr;
  try {
    tok = cached_tokenizer(path);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("not supported") != std::string::npos) GTEST_SKIP() << "unsupported: " << what;
    FAIL() << what;
  }
  ASSERT_NE(tok, nullptr);
  const std::vector<VocabCase> cases = read_vocab_cases(path);
  ASSERT_FALSE(cases.empty()) << "no test vectors in " << path << ".inp/.out";
  int failed = 0;
  for (const VocabCase& c : cases) {
    const std::vector<TokenId> got = tok->encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    if (got != c.ids) {
      ++failed;
      std::string g, e;
      for (TokenId t : got) g += std::to_string(t) + " ";
      for (TokenId t : c.ids) e += std::to_string(t) + " ";
      ADD_FAILURE() << "text '" << c.text << "'\n  expected: " << e << "\n  got:      " << g;
    }
  }
  EXPECT_EQ(failed, 0) << failed << " of " << cases.size() << " cases differ";
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectors,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "falcon",
                                           "mpt", "starcoder", "refact", "deepseek-llm", "deepseek-coder",
                                           "bert-bge"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace kestrel::test

namespace kestrel::test {
namespace {

// encode() is const and keeps no state between calls, so several threads may
// share one tokenizer (llama.cpp's test runs every case on all threads too).
TEST(VocabVectorsThreads, ConcurrentEncodeMatches) {
  const std::string path = vocab_path("llama-bpe");
  if (!std::filesystem::exists(path + ".inp")) GTEST_SKIP() << "missing " << path << ".inp";
  const Tokenizer* tok = cached_tokenizer(path);
  ASSERT_NE(tok, nullptr);
  const std::vector<VocabCase> cases = read_vocab_cases(path);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) {
        for (const VocabCase& c : cases) mismatches[t] += tok->encode(c.text, false, false) != c.ids;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace kestrel::test
