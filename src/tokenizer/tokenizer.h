// Tokenizers built from GGUF metadata: SentencePiece (`llama`) and byte-level
// BPE (`gpt2`) with the pre-tokenizer named by `tokenizer.ggml.pre`.
//
// Behaviour follows llama.cpp: control tokens are only recognised in text when
// parse_special is set, user-defined tokens always are; BOS/EOS are added per
// tokenizer.ggml.add_bos_token / add_eos_token (absent key: SPM adds BOS,
// BPE does not, except the Llama-3 pre-tokenizer which does); SPM uses byte
// fallback (<0xXX>) for unknown characters. A GGUF of any architecture can be
// loaded for tokenizing only; the tokenizer copies what it needs, so it does
// not depend on the gguf::Reader staying alive.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel {
namespace gguf { class Reader; }

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer named by tokenizer.ggml.model. Throws kestrel::Error
  // for a missing/unsupported model ("bert" -> WPM unsupported) or an unknown
  // pre-tokenizer name.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::Reader& r);

  // add_special: add BOS/EOS per the vocabulary's rules.
  // parse_special: recognise special-token text such as "<|eot_id|>".
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;

  // Bytes of one token as it appears in output (SPM "▁" becomes a space, BPE
  // byte-level chars map back to bytes, byte tokens become their byte).
  // Control tokens render as empty unless `render_special`. Throws
  // kestrel::Error for an id outside [0, n_vocab).
  virtual std::string token_to_piece(TokenId id, bool render_special = false) const = 0;

  // Concatenated pieces; for SPM the leading space added by the space prefix
  // is removed as llama.cpp does when the first token starts with one, and
  // BPE vocabularies with clean_spaces() apply llama.cpp's clean-up of
  // " ," / " 's" style spacing.
  virtual std::string decode(std::span<const TokenId> ids, bool render_special = false) const = 0;

  int32_t n_vocab() const { return static_cast<int32_t>(texts_.size()); }
  // Raw vocabulary text of a token; throws kestrel::Error for an id outside [0, n_vocab).
  std::string_view token_text(TokenId id) const;
  TokenId bos() const { return bos_; }
  TokenId eos() const { return eos_; }
  TokenId eot() const { return eot_; }  // -1 when the vocabulary has none
  TokenId unk() const { return unk_; }  // -1 when the vocabulary has none
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  // SPM: a space is put in front of the text (and of text after a special token).
  bool add_space_prefix() const { return add_space_prefix_; }
  // decode() removes spaces before punctuation/contractions (llama.cpp clean_spaces).
  bool clean_spaces() const { return clean_spaces_; }
  // End of generation: EOS, EOT, EOM or any token llama.cpp treats as such.
  bool is_eog(TokenId id) const;
  std::span<const TokenId> eog_ids() const { return eog_ids_; }  // sorted
  std::string_view model_name() const { return model_; }  // "llama" / "gpt2"
  std::string_view pre_name() const { return pre_; }

 protected:
  std::vector<std::string_view> texts_;  // token texts (views into storage the subclass owns)
  std::vector<TokenId> eog_ids_;         // sorted ascending
  TokenId bos_ = -1;
  TokenId eos_ = -1;
  TokenId eot_ = -1;
  TokenId unk_ = -1;
  bool add_bos_ = false;
  bool add_eos_ = false;
  bool add_space_prefix_ = false;
  bool clean_spaces_ = false;
  std::string model_;
  std::string pre_;
};

}  // namespace kestrel
