// SentencePiece-style tokenizer for `tokenizer.ggml.model = "llama"` vocabularies.
//
// Spaces become "▁" (with one added in front of the text and after every
// special token when add_space_prefix is set), the text is split into UTF-8
// characters, and adjacent pieces are merged greedily by the score of the
// token they form, highest first. Pieces that are not tokens fall back to
// byte tokens <0xXX>, or to the unknown token when those are missing.
#pragma once

#include <memory>

#include "tokenizer/vocab_tokenizer.h"

namespace kestrel::tok {

class SpmTokenizer final : public VocabTokenizer {
 public:
  static std::unique_ptr<SpmTokenizer> create(const gguf::Reader& r);

 protected:
  void encode_fragments(std::span<const Fragment> frags, std::vector<TokenId>& out) const override;
  std::string normal_piece(std::string_view text) const override;

 private:
  SpmTokenizer(Vocab v, std::string pre);
  // Tokenizes text whose spaces are already escaped to "▁".
  void encode_escaped(std::string_view text, std::vector<TokenId>& out) const;
  void append_bytes(std::string_view piece, std::vector<TokenId>& out) const;

  TokenId byte_tokens_[256];  // id for each byte, or -1
};

}  // namespace kestrel::tok
