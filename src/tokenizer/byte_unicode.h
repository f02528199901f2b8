// GPT-2's reversible map between bytes and printable Unicode characters.
//
// Byte-level BPE vocabularies store every token as a string of these
// characters: printable Latin-1 bytes stand for themselves and the other 68
// bytes (controls, space, soft hyphen...) are shifted to U+0100 onwards, so
// that a space byte appears as "Ġ" and a newline as "Ċ".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kestrel::tok {

// UTF-8 of the character that stands for `byte`.
std::string_view byte_to_unicode(uint8_t byte);

// The byte a code point stands for, or nullopt if it is not in the map.
std::optional<uint8_t> unicode_to_byte(uint32_t cpt);

// Appends the byte-level encoding of `bytes` to `out`.
void append_byte_encoded(std::string& out, std::string_view bytes);

}  // namespace kestrel::tok
