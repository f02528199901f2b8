// Special tokens, BOS/EOS and end-of-generation ids on the real vocabularies,
// checked against ids llama.cpp produces for the same inputs.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "test_helpers.h"

namespace kestrel::test {
namespace {

const Tokenizer* load_or_skip(const std::string& name) {
  const std::string path = vocab_path(name);
  if (!std::filesystem::exists(path)) return nullptr;
  return cached_tokenizer(path);
}

#define LOAD_OR_SKIP(var, name)                                            \
  const Tokenizer* var = load_or_skip(name);                               \
  if (!var) GTEST_SKIP() << "missing " << vocab_path(name)

TokenId find_text(const Tokenizer& t, std::string_view text) {
  for (TokenId id = 0; id < t.n_vocab(); ++id) {
    if (t.token_text(id) == text) return id;
  }
  return -1;
}

TEST(SpmSpecial, BosAndSpacePrefix) {
  LOAD_OR_SKIP(t, "llama-spm");
  EXPECT_EQ(t->model_name(), "llama");
  EXPECT_EQ(t->bos(), 1);
  EXPECT_EQ(t->eos(), 2);
  EXPECT_TRUE(t->add_bos());
  EXPECT_FALSE(t->add_eos());
  EXPECT_TRUE(t->add_space_prefix());
  EXPECT_EQ(t->encode("Hello world", true, false), (std::vector<TokenId>{1, 15043, 3186}));
  EXPECT_EQ(t->encode("Hello world", false, false), (std::vector<TokenId>{15043, 3186}));
  EXPECT_TRUE(t->encode("", false, false).empty());
  EXPECT_EQ(t->encode("", true, false), (std::vector<TokenId>{1}));
}

TEST(SpmSpecial, ParseSpecialAddsSpacePrefixAfterToken) {
  LOAD_OR_SKIP(t, "llama-spm");
  // Text after a special token gets the space prefix again.
  EXPECT_EQ(t->encode("<s>Hello</s>", false, true), (std::vector<TokenId>{1, 15043, 2}));
  // Without parse_special the markup is plain text.
  const std::vector<TokenId> plain = t->encode("<s>Hello</s>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(t->decode(plain), "<s>Hello</s>");
}

TEST(SpmSpecial, PiecesAndDecode) {
  LOAD_OR_SKIP(t, "llama-spm");
  EXPECT_EQ(t->token_to_piece(15043), " Hello");
  EXPECT_EQ(t->token_to_piece(13), "\n");  // <0x0A> byte token
  EXPECT_EQ(t->token_to_piece(1), "");      // control: hidden unless rendered
  EXPECT_EQ(t->token_to_piece(1, true), "<s>");
  EXPECT_EQ(t->decode(std::vector<TokenId>{15043, 3186}), "Hello world");
  // BOS first: it is the token the leading space would be stripped from, so
  // the space of "▁Hello" stays (llama.cpp behaves the same).
  EXPECT_EQ(t->decode(std::vector<TokenId>{1, 15043}), " Hello");
  EXPECT_EQ(t->decode(std::vector<TokenId>{1, 15043}, true), "<s> Hello");
  EXPECT_THROW(t->token_to_piece(32000), Error);
  EXPECT_THROW(t->token_to_piece(-1), Error);
  EXPECT_THROW(t->token_text(32000), Error);
  EXPECT_EQ(t->token_text(15043), "\xE2\x96\x81Hello");
  EXPECT_TRUE(t->is_eog(2));
  EXPECT_FALSE(t->is_eog(1));
  EXPECT_FALSE(t->is_eog(-1));
}

TEST(BpeSpecial, Llama3ChatMarkup) {
  LOAD_OR_SKIP(t, "llama-bpe");
  EXPECT_EQ(t->model_name(), "gpt2");
  EXPECT_EQ(t->pre_name(), "llama-bpe");
  EXPECT_TRUE(t->add_bos());
  const std::string chat = "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>";
  EXPECT_EQ(t->encode(chat, true, true),
            (std::vector<TokenId>{128000, 128006, 882, 128007, 271, 9906, 128009}));
  const std::vector<TokenId> plain = t->encode(chat, false, false);
  for (TokenId id : plain) EXPECT_LT(id, 128000) << "special token recognised without parse_special";
  EXPECT_EQ(t->decode(plain), chat);
  EXPECT_EQ(t->decode(t->encode(chat, true, true)), "user\n\nHello");  // control tokens hidden...
  EXPECT_EQ(t->decode(t->encode(chat, true, true), true),
            "<|begin_of_text|>" + chat);  // ...or rendered
  EXPECT_EQ(t->token_to_piece(22691), " Hello");
}

TEST(BpeSpecial, Llama3EndOfGeneration) {
  LOAD_OR_SKIP(t, "llama-bpe");
  EXPECT_EQ(t->eos(), 128001);
  EXPECT_TRUE(t->is_eog(128001));  // <|end_of_text|>
  EXPECT_TRUE(t->is_eog(128009));  // <|eot_id|>
  EXPECT_EQ(t->eot(), 128009);
  EXPECT_FALSE(t->is_eog(128000));
  EXPECT_FALSE(t->is_eog(9906));
}

TEST(BpeSpecial, Qwen2AndGpt2HaveNoBos) {
  LOAD_OR_SKIP(q, "qwen2");
  EXPECT_FALSE(q->add_bos());
  EXPECT_FALSE(q->clean_spaces());
  EXPECT_EQ(q->encode("Hello", true, false), q->encode("Hello", false, false));
  EXPECT_TRUE(q->is_eog(find_text(*q, "<|im_end|>")));
  EXPECT_TRUE(q->is_eog(find_text(*q, "<|endoftext|>")));
  EXPECT_FALSE(q->is_eog(find_text(*q, "<|im_start|>")));
  // llama.cpp counts the FIM padding/repo/file-separator tokens as EOG too.
  EXPECT_TRUE(q->is_eog(find_text(*q, "<|fim_pad|>")));
  // <think> is user-defined: recognised even without parse_special.
  const TokenId think = find_text(*q, "<think>");
  ASSERT_GE(think, 0);
  const std::vector<TokenId> ids = q->encode("a<think>b", false, false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), think), 1);

  LOAD_OR_SKIP(g, "gpt-2");
  EXPECT_FALSE(g->add_bos());
  EXPECT_TRUE(g->clean_spaces());
  EXPECT_EQ(g->bos(), 50256);
  EXPECT_TRUE(g->is_eog(50256));
  EXPECT_EQ(g->encode("<|endoftext|>", false, true), (std::vector<TokenId>{50256}));
  EXPECT_NE(g->encode("<|endoftext|>", false, false), (std::vector<TokenId>{50256}));
}

TEST(BpeSpecial, NeoxWhitespaceTokensAreUserDefined) {
  LOAD_OR_SKIP(t, "mpt");
  const TokenId four = find_text(*t, "    ");
  ASSERT_GE(four, 0);
  // A run of four spaces is cut out as its user-defined token before the
  // regexes run, with or without parse_special.
  for (bool parse : {false, true}) {
    const std::vector<TokenId> ids = t->encode("a    b", false, parse);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), four), 1);
    EXPECT_EQ(t->decode(ids), "a    b");
  }
}

TEST(BpeSpecial, MissingPreUsesDefault) {
  LOAD_OR_SKIP(t, "gpt-neox");  // no tokenizer.ggml.pre in this file
  EXPECT_EQ(t->pre_name(), "");
  const std::string s = "Hello world, 12345!";
  EXPECT_EQ(t->decode(t->encode(s, false, false)), s);
}

TEST(SpmSpecial, BaichuanLoads) {
  LOAD_OR_SKIP(t, "baichuan");
  EXPECT_EQ(t->n_vocab(), 64000);
  const std::string s = "Hello, 世界! 3.14";
  EXPECT_EQ(t->decode(t->encode(s, false, false)), s);
  EXPECT_EQ(t->encode(s, true, false).front(), 1);
}

}  // namespace
}  // namespace kestrel::test
