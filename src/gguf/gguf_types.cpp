// Small helpers behind gguf_types.h and byte_cursor.h: value-type names,
// sizes, message quoting and the cursor's error paths (kept out of line so the
// inline fast path stays small).
#include "gguf/gguf_types.h"

#include <cstdio>

#include "gguf/byte_cursor.h"

namespace kestrel::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "unknown";
}

size_t Array::size() const {
  switch (elem_type) {
    case ValueType::STRING: return strings.size();
    case ValueType::F32:
    case ValueType::F64: return floats.size();
    default: return ints.size();
  }
}

int64_t TensorInfo::n_elements() const {
  // The reader guarantees the product fits in int64.
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 96;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

void ByteCursor::fail(const std::string& msg) const {
  std::string full = "GGUF: ";
  if (!context_.empty()) full += context_ + ": ";
  throw Error(full + msg);
}

void ByteCursor::fail_truncated(uint64_t n, const char* what) const {
  fail("file truncated at offset " + std::to_string(pos_) + ": reading " + what + " needs " +
       std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain (file size " +
       std::to_string(size_) + ")");
}

void ByteCursor::fail_string_length(uint64_t n, const char* what) const {
  fail("string length " + std::to_string(n) + " of " + what + " at offset " +
       std::to_string(pos_ - sizeof(uint64_t)) + " extends past end of file (only " +
       std::to_string(remaining()) + " bytes remain, file size " + std::to_string(size_) + ")");
}

}  // namespace kestrel::gguf
