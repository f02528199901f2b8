// UTF-8 helpers shared by the tokenizers.
//
// They reproduce llama.cpp's lenient decoding on purpose: a sequence length is
// taken from the lead byte alone, overlong forms and surrogates decode without
// complaint, and every byte that cannot start a well-formed sequence becomes
// U+FFFD. Matching llama.cpp here is what keeps token ids identical on
// malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kestrel::tok {

// Length of the UTF-8 sequence a lead byte announces (1 for stray
// continuation bytes, as llama.cpp does).
inline size_t utf8_seq_len(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Length of the longest prefix of s that ends on a complete UTF-8
// character: streaming output holds back the bytes of a character whose
// token has not arrived yet (a byte >= 0xF8 counts as complete alone).
inline size_t complete_utf8_prefix(std::string_view s) {
  size_t i = s.size(), back = 0;
  while (i > 0 && back < 4) {
    const auto c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) {
      const size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      return back + 1 >= need ? s.size() : i - 1;
    }
    --i;
    ++back;
  }
  return s.size();
}

// Appends the UTF-8 encoding of a code point (up to 0x10FFFF; surrogates are
// encoded like any other value, as llama.cpp does).
void append_utf8(std::string& out, uint32_t cpt);

// Text prepared for regex pre-tokenization.
//   text:   the code points of the input (decoded leniently, one U+FFFD per
//           undecodable byte) re-encoded as UTF-8; the words are cut from it.
//   shadow: same length as `text`, with every surrogate and every value above
//           0x10FFFF replaced by U+FFFD (also 3 bytes for surrogates) so that
//           PCRE2 in UTF mode accepts it; the regexes run on it.
struct NormalizedUtf8 {
  std::string text;
  std::string shadow;
};
NormalizedUtf8 normalize_utf8_for_regex(std::string_view input);

}  // namespace kestrel::tok
