// Pre-tokenizer regex lists: every supported name compiles and partitions the
// text losslessly, and the main lists split sample text as their Hugging Face
// originals do.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/pre_tokenizers.h"

namespace kestrel::tok {
namespace {

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  const auto p = PreTokenizer::create(pre);
  const NormalizedUtf8 norm = normalize_utf8_for_regex(text);
  std::vector<std::string> out;
  for (std::string_view w : p->split(norm)) out.emplace_back(w);
  return out;
}

using Words = std::vector<std::string>;

TEST(PreTokenizers, EveryNameCompilesAndCoversTheText) {
  const std::string text =
      "Hello World! It's 2024-11-21, \xC3\xA9t\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
      "\xF0\x9F\x99\x82 \t\r\n\n   x = 12345; \xEF\xBC\x81 \xCE\xA9mega\xC2\x85z";
  for (std::string_view name : PreTokenizer::known_names()) {
    SCOPED_TRACE(std::string(name));
    const Words words = split(name, text);
    std::string joined;
    for (const auto& w : words) {
      EXPECT_FALSE(w.empty());
      joined += w;
    }
    EXPECT_EQ(joined, text);
    EXPECT_GT(words.size(), 10u);
  }
}

TEST(PreTokenizers, Llama3) {
  EXPECT_EQ(split("llama-bpe", "Hello world 12345\n\n  x"),
            (Words{"Hello", " world", " ", "123", "45", "\n\n", " ", " x"}));
  EXPECT_EQ(split("llama-bpe", "I'M he'S"), (Words{"I", "'M", " he", "'S"}));  // case-insensitive
  EXPECT_EQ(split("llama-bpe", "a..\n\nb"), (Words{"a", "..\n\n", "b"}));
}

TEST(PreTokenizers, Gpt2) {
  EXPECT_EQ(split("gpt-2", "I'm 3.14!!"), (Words{"I", "'m", " 3", ".", "14", "!!"}));
  EXPECT_EQ(split("gpt-2", "I'M"), (Words{"I", "'", "M"}));  // case-sensitive contractions
  EXPECT_EQ(split("gpt-2", "a   b"), (Words{"a", "  ", " b"}));
  // U+0085 (NEXT LINE) is whitespace for llama.cpp, although PCRE2's \s disagrees.
  EXPECT_EQ(split("gpt-2", "a\xC2\x85\xC2\x85"), (Words{"a", "\xC2\x85\xC2\x85"}));
}

TEST(PreTokenizers, DigitSplitting) {
  EXPECT_EQ(split("qwen2", "x12345"), (Words{"x", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(split("starcoder", "x 123"), (Words{"x", " ", "1", "2", "3"}));
  EXPECT_EQ(split("deepseek-coder", "abc 123"), (Words{"abc", " ", "1", "2", "3"}));
  EXPECT_EQ(split("falcon", "1234567"), (Words{"123", "456", "7"}));
}

TEST(PreTokenizers, DeepseekLlmScripts) {
  // CJK runs split from Latin words; trailing whitespace at the end of a
  // piece is its own word ("\s+$" only sees the current piece).
  EXPECT_EQ(split("deepseek-llm", "ab\xE6\x97\xA5\xE6\x9C\xAC cd  "),
            (Words{"ab", "\xE6\x97\xA5\xE6\x9C\xAC", " cd", "  "}));
}

TEST(PreTokenizers, InvalidUtf8BecomesReplacementCharacter) {
  const NormalizedUtf8 n = normalize_utf8_for_regex("a\xFF" "b\xC3");
  EXPECT_EQ(n.text, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  // A surrogate keeps its bytes in the text but is U+FFFD for the regexes.
  const NormalizedUtf8 s = normalize_utf8_for_regex("\xED\xA0\x80");
  EXPECT_EQ(s.text, "\xED\xA0\x80");
  EXPECT_EQ(s.shadow, "\xEF\xBF\xBD");
}

TEST(PreTokenizers, UnknownNameIsAnError) {
  EXPECT_THROW(PreTokenizer::create("no-such-pre"), Error);
  EXPECT_NO_THROW(PreTokenizer::create(""));  // absent key: llama.cpp's default list
}

}  // namespace
}  // namespace kestrel::tok
