// What SPM and BPE tokenizers share: special-token partitioning, BOS/EOS,
// token_to_piece for every token type, and llama.cpp's detokenizer.
//
// Subclasses supply only the tokenization of raw text fragments and the
// rendering of a normal token's text.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace kestrel::tok {

class VocabTokenizer : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string token_to_piece(TokenId id, bool render_special = false) const override;
  std::string decode(std::span<const TokenId> ids, bool render_special = false) const override;

  const Vocab& vocab() const { return vocab_; }

 protected:
  VocabTokenizer(Vocab vocab, std::string model, std::string pre);

  // Appends the tokens of the fragments (raw text runs and special tokens)
  // in order.
  virtual void encode_fragments(std::span<const Fragment> frags, std::vector<TokenId>& out) const = 0;
  // Output bytes of a token of type "normal".
  virtual std::string normal_piece(std::string_view text) const = 0;

  Vocab vocab_;
};

// llama.cpp's clean-up of detokenized text: drops the space before ? ! . ,
// around a lone apostrophe, and before 's 'm 're 've.
std::string clean_up_spaces(std::string_view text);

}  // namespace kestrel::tok
