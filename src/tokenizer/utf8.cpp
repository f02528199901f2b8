// Lenient UTF-8 decoding in llama.cpp's manner, re-encoded for PCRE2.
#include "tokenizer/utf8.h"

namespace kestrel::tok {

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt < 0x80) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cpt >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  }
}

namespace {

constexpr uint32_t kReplacement = 0xFFFD;

bool is_continuation(std::string_view s, size_t i) {
  return i < s.size() && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80;
}

// Decodes one code point at `pos` the way llama.cpp's unicode_cpt_from_utf8
// does; returns false (and leaves pos) when the bytes are not decodable.
bool decode_one(std::string_view s, size_t& pos, uint32_t& cpt) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (b0 < 0x80) {
    cpt = b0;
    pos += 1;
    return true;
  }
  if (b0 < 0xC0) return false;  // stray continuation byte
  size_t n = 0;
  if (b0 < 0xE0) {
    n = 2;
    cpt = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    n = 3;
    cpt = b0 & 0x0F;
  } else if (b0 < 0xF8) {
    n = 4;
    cpt = b0 & 0x07;
  } else {
    return false;
  }
  for (size_t k = 1; k < n; ++k) {
    if (!is_continuation(s, pos + k)) return false;
    cpt = (cpt << 6) | (static_cast<uint8_t>(s[pos + k]) & 0x3F);
  }
  pos += n;
  return true;
}

}  // namespace

NormalizedUtf8 normalize_utf8_for_regex(std::string_view input) {
  NormalizedUtf8 r;
  r.text.reserve(input.size());
  r.shadow.reserve(input.size());
  size_t pos = 0;
  while (pos < input.size()) {
    uint32_t cpt = 0;
    if (!decode_one(input, pos, cpt)) {
      cpt = kReplacement;
      pos += 1;
    }
    // llama.cpp cannot encode values above U+10FFFF at all (it throws); we
    // map them to U+FFFD in both strings instead.
    if (cpt > 0x10FFFF) cpt = kReplacement;
    append_utf8(r.text, cpt);
    const bool surrogate = cpt >= 0xD800 && cpt <= 0xDFFF;
    append_utf8(r.shadow, surrogate ? kReplacement : cpt);
  }
  return r;
}

}  // namespace kestrel::tok
