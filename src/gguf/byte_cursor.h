// Bounds-checked little-endian reader over a byte range (GGUF parsing).
//
// Every read first checks that the bytes are present and throws
// kestrel::Error otherwise, naming what was being read, at which file offset,
// and the parser's current context (e.g. "key 'general.name'"). Strings come
// back as views into the underlying buffer so a 128K-entry vocabulary costs no
// per-string allocation. GGUF is little-endian and so is every host kestrel
// supports, so fixed-size values are plain memcpy loads.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/error.h"

namespace kestrel::gguf {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader assumes a little-endian host");

// Quotes a name taken from a file for use in an error message: non-printable
// bytes become \xNN and very long names are cut, so a hostile file cannot
// flood or corrupt the message.
std::string quoted(std::string_view s);

class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }

  // Text prepended to error messages ("key 'x'", "tensor 3 'y'", ...).
  void set_context(std::string ctx) { context_ = std::move(ctx); }
  const std::string& context() const { return context_; }

  // Throws a kestrel::Error "GGUF: <context>: <msg>".
  [[noreturn]] void fail(const std::string& msg) const;

  // Throws unless n more bytes are available; `what` names the field.
  void require(uint64_t n, const char* what) const {
    if (n > remaining()) fail_truncated(n, what);
  }

  template <typename T>
  T read(const char* what) {
    require(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // A GGUF string: u64 byte length, then the bytes (no terminator).
  std::string_view read_string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining()) fail_string_length(n, what);
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

 private:
  [[noreturn]] void fail_truncated(uint64_t n, const char* what) const;
  [[noreturn]] void fail_string_length(uint64_t n, const char* what) const;

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace kestrel::gguf
