// BPE pre-tokenizers: the regex lists named by tokenizer.ggml.pre.
//
// A pre-tokenizer is an ordered list of regexes. Each regex is applied inside
// every piece produced by the previous ones, and both its matches and the
// unmatched text between them become pieces, exactly as llama.cpp's
// unicode_regex_split does. The regexes are the ones of the original
// Hugging Face tokenizers, written for PCRE2 (UTF + UCP) with `\s` spelled out
// as the Unicode White_Space set that llama.cpp's tables use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"

namespace kestrel::tok {

class Regex;  // a compiled PCRE2 pattern (pre_tokenizers.cpp)

class PreTokenizer {
 public:
  // Builds the pre-tokenizer for a tokenizer.ggml.pre value; an empty name
  // selects llama.cpp's "default" list. Throws kestrel::Error for a name this
  // engine does not know.
  static std::unique_ptr<PreTokenizer> create(std::string_view pre_name);
  ~PreTokenizer();

  // Splits prepared text into words, returned as views into norm.text.
  std::vector<std::string_view> split(const NormalizedUtf8& norm) const;

  // Vocabulary flags llama.cpp ties to the pre-tokenizer type.
  bool clean_spaces() const { return clean_spaces_; }
  bool ignore_merges() const { return ignore_merges_; }  // whole-word vocab hits skip BPE
  bool add_bos_default() const { return add_bos_; }

  // The supported names, for documentation and error messages.
  static std::vector<std::string_view> known_names();

 private:
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool clean_spaces_ = true;
  bool ignore_merges_ = false;
  bool add_bos_ = false;
};

}  // namespace kestrel::tok
