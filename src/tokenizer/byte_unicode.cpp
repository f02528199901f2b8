// GPT-2 byte <-> unicode map, built once from its defining rule.
#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8.h"

namespace kestrel::tok {
namespace {

// Bytes that map to the code point of the same value: '!'..'~', '¡'..'¬',
// '®'..'ÿ'. Every other byte takes the next code point from 256 upwards, in
// increasing byte order.
bool maps_to_itself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteMap {
  std::array<uint32_t, 256> cpt{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 512> byte_of_cpt{};  // all mapped code points are < 512

  ByteMap() {
    byte_of_cpt.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      cpt[b] = maps_to_itself(b) ? static_cast<uint32_t>(b) : next++;
      append_utf8(utf8[b], cpt[b]);
      byte_of_cpt[cpt[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

std::string_view byte_to_unicode(uint8_t byte) { return byte_map().utf8[byte]; }

std::optional<uint8_t> unicode_to_byte(uint32_t cpt) {
  if (cpt >= 512) return std::nullopt;
  const int16_t b = byte_map().byte_of_cpt[cpt];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

void append_byte_encoded(std::string& out, std::string_view bytes) {
  const ByteMap& m = byte_map();
  for (char c : bytes) out += m.utf8[static_cast<uint8_t>(c)];
}

}  // namespace kestrel::tok
