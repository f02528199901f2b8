// Tokenizers built from small in-memory GGUFs: error reporting, SPM byte
// fallback and merge order, BPE merge ranks, strip attributes.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace kestrel::test {
namespace {

// Keeps the serialized bytes alive for as long as the reader needs them.
struct MemoryGguf {
  std::vector<uint8_t> bytes;
  std::unique_ptr<gguf::Reader> reader;
  explicit MemoryGguf(const gguf::Writer& w) : bytes(w.to_bytes()) {
    reader = gguf::Reader::from_memory(bytes.data(), bytes.size());
  }
};

std::unique_ptr<Tokenizer> build(const gguf::Writer& w) {
  MemoryGguf g(w);
  return Tokenizer::from_gguf(*g.reader);  // must not keep pointers into g
}

std::string error_of(const gguf::Writer& w) {
  try {
    build(w);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kSpace = "\xE2\x96\x81";  // ▁

// <unk> <s> </s> ▁ a b c ab bc <0xC3> <0xA9>
gguf::Writer spm_writer(bool with_byte_tokens = true) {
  gguf::Writer w;
  w.set_string("tokenizer.ggml.model", "llama");
  std::vector<std::string> toks = {"<unk>", "<s>", "</s>", kSpace, "a", "b", "c", "ab", "bc"};
  std::vector<float> scores = {0, 0, 0, -1, -2, -2, -2, -5, -5};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1, 1};
  if (with_byte_tokens) {
    toks.insert(toks.end(), {"<0xC3>", "<0xA9>"});
    scores.insert(scores.end(), {0, 0});
    types.insert(types.end(), {6, 6});
  }
  w.set_array_strings("tokenizer.ggml.tokens", toks);
  w.set_array_f32("tokenizer.ggml.scores", scores);
  w.set_array_i32("tokenizer.ggml.token_type", types);
  return w;
}

TEST(SyntheticSpm, EqualScoresMergeLeftmostFirst) {
  gguf::Writer w = spm_writer();
  w.set_bool("tokenizer.ggml.add_space_prefix", false);
  const auto t = build(w);
  EXPECT_FALSE(t->add_space_prefix());
  // "ab" and "bc" score the same: the leftmost pair wins.
  EXPECT_EQ(t->encode("abc", false, false), (std::vector<TokenId>{7, 6}));
}

TEST(SyntheticSpm, HigherScoreMergesFirst) {
  gguf::Writer w = spm_writer();
  w.set_bool("tokenizer.ggml.add_space_prefix", false);
  w.set_array_f32("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -2, -2, -5, -4, 0, 0});
  const auto t = build(w);
  EXPECT_EQ(t->encode("abc", false, false), (std::vector<TokenId>{4, 8}));
}

TEST(SyntheticSpm, ByteFallbackThenUnknown) {
  const auto t = build(spm_writer());
  // "é" is not a token: its two UTF-8 bytes go out as byte tokens.
  EXPECT_EQ(t->encode("a\xC3\xA9", true, false), (std::vector<TokenId>{1, 3, 4, 9, 10}));
  EXPECT_EQ(t->decode(t->encode("a\xC3\xA9", false, false)), "a\xC3\xA9");
  // Without byte tokens each byte becomes <unk>.
  const auto u = build(spm_writer(false));
  EXPECT_EQ(u->encode("a\xC3\xA9", false, false), (std::vector<TokenId>{3, 4, 0, 0}));
}

TEST(SyntheticSpm, AddBosWithoutBosIdIsAnError) {
  gguf::Writer w = spm_writer();
  w.set_u32("tokenizer.ggml.bos_token_id", 100);  // out of range: ignored, default 1 kept
  EXPECT_EQ(build(w)->bos(), 1);
  gguf::Writer tiny;
  tiny.set_string("tokenizer.ggml.model", "llama");
  tiny.set_array_strings("tokenizer.ggml.tokens", {"<unk>"});  // default BOS id 1 does not exist
  EXPECT_NE(error_of(tiny).find("add_bos_token"), std::string::npos);
  tiny.set_bool("tokenizer.ggml.add_bos_token", false);
  EXPECT_EQ(build(tiny)->bos(), -1);
}

// Tokens a b c ab bc abc, merges "b c" (rank 0), "a b" (1), "a bc" (2).
gguf::Writer bpe_writer() {
  gguf::Writer w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  w.set_array_strings("tokenizer.ggml.tokens", {"a", "b", "c", "ab", "bc", "abc", "<|endoftext|>", "\xC4\xA0"});
  w.set_array_i32("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 3, 1});
  w.set_array_strings("tokenizer.ggml.merges", {"b c", "a b", "a bc"});
  w.set_u32("tokenizer.ggml.eos_token_id", 6);
  w.set_u32("tokenizer.ggml.bos_token_id", 6);
  return w;
}

TEST(SyntheticBpe, MergesFollowRank) {
  const auto t = build(bpe_writer());
  EXPECT_EQ(t->encode("abc", false, false), (std::vector<TokenId>{5}));
  EXPECT_EQ(t->encode("ab", false, false), (std::vector<TokenId>{3}));
  EXPECT_EQ(t->encode("cab", false, false), (std::vector<TokenId>{2, 3}));
  // " a" is its own pre-token: the space ("Ġ") stays a separate token.
  EXPECT_EQ(t->encode("a a", false, false), (std::vector<TokenId>{0, 7, 0}));
  // Characters with no token at all are dropped, as in llama.cpp.
  EXPECT_EQ(t->encode("axb", false, false), (std::vector<TokenId>{0, 1}));
  EXPECT_EQ(t->token_to_piece(7), " ");
  EXPECT_TRUE(t->is_eog(6));
}

TEST(SyntheticBpe, MalformedVocabularies) {
  gguf::Writer no_merges = bpe_writer();
  no_merges.set_array_i32("tokenizer.ggml.merges", {1});
  EXPECT_NE(error_of(no_merges).find("merges"), std::string::npos);

  gguf::Writer bad_pre = bpe_writer();
  bad_pre.set_string("tokenizer.ggml.pre", "no-such-pre");
  EXPECT_NE(error_of(bad_pre).find("'no-such-pre'"), std::string::npos);

  gguf::Writer dup = bpe_writer();
  dup.set_array_strings("tokenizer.ggml.tokens", {"a", "b", "c", "ab", "bc", "a", "<|endoftext|>", "x"});
  EXPECT_NE(error_of(dup).find("duplicate token"), std::string::npos);

  gguf::Writer short_types = bpe_writer();
  short_types.set_array_i32("tokenizer.ggml.token_type", {1, 1});
  EXPECT_NE(error_of(short_types).find("token_type"), std::string::npos);

  gguf::Writer bad_tokens = bpe_writer();
  bad_tokens.set_array_f32("tokenizer.ggml.tokens", {1.0f});
  EXPECT_NE(error_of(bad_tokens).find("tokenizer.ggml.tokens"), std::string::npos);
}

TEST(SyntheticModels, UnsupportedAndMissing) {
  gguf::Writer none;
  none.set_string("general.architecture", "llama");
  EXPECT_NE(error_of(none).find("tokenizer.ggml.model"), std::string::npos);

  gguf::Writer bert = spm_writer();
  bert.set_string("tokenizer.ggml.model", "bert");
  EXPECT_NE(error_of(bert).find("WPM (bert) tokenizer is not supported"), std::string::npos);

  gguf::Writer t5 = spm_writer();
  t5.set_string("tokenizer.ggml.model", "t5");
  EXPECT_NE(error_of(t5).find("not supported"), std::string::npos);
}

TEST(SyntheticSpecial, Phi3StripsSpaceAfterUserDefinedTokens) {
  gguf::Writer w = spm_writer();
  w.set_string("general.name", "Phi3");
  w.set_array_strings("tokenizer.ggml.tokens",
                      {"<unk>", "<s>", "</s>", kSpace, "a", "b", "c", "ab", "bc", "<0xC3>", "<|x|>"});
  w.set_array_i32("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1, 1, 6, 4});
  const auto t = build(w);
  // <|x|> is user-defined, so it is matched without parse_special; for Phi-3
  // it also swallows the whitespace after it. The text after it follows a
  // special token, so SPM gives it a "▁" prefix again.
  EXPECT_EQ(t->encode("a<|x|>   b", false, false), (std::vector<TokenId>{3, 4, 10, 3, 5}));
  const auto plain = build(spm_writer());
  // Without that token the markup is plain text: "▁", "a", then five
  // characters with neither a token nor a byte token -> five <unk>.
  EXPECT_EQ(plain->encode("a<|x|>", false, false), (std::vector<TokenId>{3, 4, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace kestrel::test
