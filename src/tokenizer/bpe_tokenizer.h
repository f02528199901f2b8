// Byte-level BPE tokenizer for `tokenizer.ggml.model = "gpt2"` vocabularies.
//
// Text is cut into words by the pre-tokenizer, each word's bytes are mapped
// to GPT-2's printable characters, and adjacent symbols are merged in the
// order of tokenizer.ggml.merges (lowest rank first, leftmost on ties) until
// no listed pair remains. Symbols are interned to integers at load time so
// merging does no string work.
#pragma once

#include <deque>
#include <memory>
#include <unordered_map>

#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/vocab_tokenizer.h"

namespace kestrel::tok {

class BpeTokenizer final : public VocabTokenizer {
 public:
  static std::unique_ptr<BpeTokenizer> create(const gguf::Reader& r);

 protected:
  void encode_fragments(std::span<const Fragment> frags, std::vector<TokenId>& out) const override;
  std::string normal_piece(std::string_view text) const override;

 private:
  BpeTokenizer(Vocab v, std::string pre, std::unique_ptr<PreTokenizer> pre_tok);
  void load_merges(const gguf::Reader& r);
  int32_t symbol_id(std::string_view s) const;
  // Tokenizes one byte-encoded word.
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  struct Merge {
    int32_t rank;
    int32_t result;  // symbol id of the merged text, -1 if it is neither a token nor a merge operand
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::unique_ptr<PreTokenizer> pre_tok_;
  // Symbol ids: token ids for vocabulary texts, then ids >= n_vocab for
  // merge operands that are not tokens themselves.
  std::deque<std::string> extra_symbols_;
  std::unordered_map<std::string_view, int32_t> extra_symbol_ids_;
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace kestrel::tok
