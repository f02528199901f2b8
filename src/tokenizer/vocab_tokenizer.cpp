// Shared encode/decode logic of the vocabulary-based tokenizers.
#include "tokenizer/vocab_tokenizer.h"

#include <algorithm>

#include "core/error.h"

namespace kestrel::tok {

VocabTokenizer::VocabTokenizer(Vocab vocab, std::string model, std::string pre) : vocab_(std::move(vocab)) {
  texts_ = vocab_.texts;
  eog_ids_ = vocab_.eog;
  bos_ = vocab_.bos;
  eos_ = vocab_.eos;
  eot_ = vocab_.eot;
  unk_ = vocab_.unk;
  add_bos_ = vocab_.add_bos;
  add_eos_ = vocab_.add_eos;
  add_space_prefix_ = vocab_.add_space_prefix;
  clean_spaces_ = vocab_.clean_spaces;
  model_ = std::move(model);
  pre_ = std::move(pre);
}

std::vector<TokenId> VocabTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<TokenId> out;
  const std::vector<Fragment> frags = partition_special(vocab_, text, parse_special);
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  encode_fragments(frags, out);
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

std::string VocabTokenizer::token_to_piece(TokenId id, bool render_special) const {
  if (id < 0 || id >= vocab_.size()) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (" +
                std::to_string(vocab_.size()) + " tokens)");
  }
  const uint32_t attr = vocab_.attrs[static_cast<size_t>(id)];
  const std::string_view text = vocab_.texts[static_cast<size_t>(id)];
  if (attr & (kAttrUnknown | kAttrControl)) return render_special ? std::string(text) : std::string();
  if (attr & kAttrUserDefined) return std::string(text);
  if (attr & kAttrNormal) return normal_piece(text);
  if (attr & kAttrByte) {
    // "<0xXX>": the byte itself.
    if (text.size() == 6 && text.substr(0, 3) == "<0x" && text[5] == '>') {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      const int hi = hex(text[3]), lo = hex(text[4]);
      if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
    }
    return std::string();
  }
  return std::string();  // unused / undefined tokens render as nothing
}

std::string VocabTokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
  std::string out;
  // The space prefix SPM adds in front of the text is dropped from the first
  // token only (even when that token renders as nothing, like BOS).
  bool strip_space = vocab_.add_space_prefix;
  for (TokenId id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (strip_space && !piece.empty() && piece.front() == ' ') piece.erase(0, 1);
    strip_space = false;
    out += piece;
  }
  return vocab_.clean_spaces ? clean_up_spaces(out) : out;
}

std::string clean_up_spaces(std::string_view text) {
  // Three passes, each comparing against its own input, as llama.cpp does.
  std::string s(text);
  if (s.empty()) return s;

  // " ?", " !", " .", " ,"  ->  "?", "!", ".", ","
  std::string a(1, s[0]);
  for (size_t i = 1; i < s.size(); ++i) {
    const char x = s[i];
    if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a += x;
  }

  // " ' "  ->  "'". The swallowed space is blanked so it cannot act as the
  // "previous space" of the next character.
  std::string b(1, a[0]);
  for (size_t i = 1; i < a.size(); ++i) {
    const char x = a[i];
    if (x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.pop_back();
      a[++i] = '\0';
    }
    b += x;
  }

  // " 's", " 'm", " 're", " 've"  ->  no space (" 't", " 'd", " 'll" keep it).
  std::string c(1, b[0]);
  for (size_t i = 1; i < b.size(); ++i) {
    const char x = b[i];
    if (b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (i + 2 < b.size() && ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')))) {
        c.pop_back();
      }
    }
    c += x;
  }
  return c;
}

}  // namespace kestrel::tok
