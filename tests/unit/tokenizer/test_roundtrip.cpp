// Detokenization round trips and tokenizer speed.
//
// llama.cpp guarantees decode(encode(s)) == s for SPM (the space prefix added
// by encode is removed again by decode) and for BPE up to its clean_spaces
// post-processing, which only ever removes spaces before punctuation and
// contractions. So for BPE the expectation is clean_up_spaces(s).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "test_helpers.h"
#include "tokenizer/vocab_tokenizer.h"

namespace kestrel::test {
namespace {

std::string expected_roundtrip(const Tokenizer& tok, const std::string& s) {
  return tok.clean_spaces() ? tok::clean_up_spaces(s) : s;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, DecodeOfEncodeGivesTheText) {
  const std::string path = vocab_path(GetParam());
  if (!std::filesystem::exists(path + ".inp")) GTEST_SKIP() << "missing " << path << ".inp";
  const Tokenizer* tok = cached_tokenizer(path);
  ASSERT_NE(tok, nullptr);
  const std::vector<VocabCase> cases = read_vocab_cases(path);
  ASSERT_FALSE(cases.empty());
  for (const VocabCase& c : cases) {
    const std::vector<TokenId> ids = tok->encode(c.text, false, false);
    EXPECT_EQ(tok->decode(ids), expected_roundtrip(*tok, c.text)) << "text '" << c.text << "'";
    // The expected ids decode to the same text (they come from Hugging Face).
    EXPECT_EQ(tok->decode(c.ids), expected_roundtrip(*tok, c.text)) << "text '" << c.text << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, RoundTrip,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "llama-bpe", "qwen2", "falcon", "mpt",
                                           "starcoder", "refact", "deepseek-llm", "deepseek-coder"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(CleanUpSpaces, FollowsLlamaCppPasses) {
  EXPECT_EQ(tok::clean_up_spaces("Hello , world !"), "Hello, world!");
  EXPECT_EQ(tok::clean_up_spaces("a ' b"), "a'b");
  EXPECT_EQ(tok::clean_up_spaces("it 's we 're I 'm we 've"), "it's we're I'm we've");
  EXPECT_EQ(tok::clean_up_spaces("don 't I 'd we 'll"), "don 't I 'd we 'll");
  // The space swallowed after a lone apostrophe does not count as the space
  // before the next apostrophe.
  EXPECT_EQ(tok::clean_up_spaces("a ' ' b"), "a'' b");
  EXPECT_EQ(tok::clean_up_spaces(""), "");
  EXPECT_EQ(tok::clean_up_spaces(" ."), ".");  // a leading space goes too
}

// A whole 450 KB book through the Llama-3 tokenizer; a quadratic merge loop
// or per-call regex compilation would blow the budget by orders of magnitude.
TEST(TokenizerSpeed, Llama3BpeWholeBook) {
  const std::string text_path = shared_path("data/text/news-from-nowhere.txt");
  const std::string path = vocab_path("llama-bpe");
  if (!std::filesystem::exists(text_path) || !std::filesystem::exists(path)) {
    GTEST_SKIP() << "missing " << text_path << " or " << path;
  }
  const Tokenizer* tok = cached_tokenizer(path);
  ASSERT_NE(tok, nullptr);
  const std::string text = read_file_bytes(text_path);
  ASSERT_GT(text.size(), 400000u);

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<TokenId> ids = tok->encode(text, false, false);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("encode_ms", static_cast<int>(ms));
  RecordProperty("tokens", static_cast<int>(ids.size()));
  std::printf("news-from-nowhere.txt: %zu bytes -> %zu tokens in %.1f ms\n", text.size(), ids.size(), ms);

  EXPECT_LT(ms, 1000.0);
  // English prose runs at roughly 4 bytes per token.
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_LT(ids.size(), text.size() / 2);
  EXPECT_EQ(tok->decode(ids), tok::clean_up_spaces(text));
}

}  // namespace
}  // namespace kestrel::test
