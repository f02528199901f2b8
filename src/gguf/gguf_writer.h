// GGUF v3 writer.
//
// Collects metadata and tensors, then writes a file that ggml's reader
// accepts: keys in insertion order, tensor infos in insertion order, data
// offsets as the running sum of sizes padded to general.alignment (default
// 32). write_file() writes to a unique PATH.XXXXXX.tmp (core/file_io.h) and
// renames it, so a failed or interrupted write never
// leaves a half-written file behind. Setting a key that is already set
// replaces its value and keeps its position. Setting general.alignment (u32,
// a power of two) changes the padding; anything else there makes the write
// throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_types.h"

namespace kestrel::gguf {

class Reader;

class Writer {
 public:
  void set_u8(std::string_view key, uint8_t v);
  void set_i8(std::string_view key, int8_t v);
  void set_u16(std::string_view key, uint16_t v);
  void set_i16(std::string_view key, int16_t v);
  void set_u32(std::string_view key, uint32_t v);
  void set_i32(std::string_view key, int32_t v);
  void set_u64(std::string_view key, uint64_t v);
  void set_i64(std::string_view key, int64_t v);
  void set_f32(std::string_view key, float v);
  void set_f64(std::string_view key, double v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_array_strings(std::string_view key, const std::vector<std::string>& v);
  void set_array_f32(std::string_view key, const std::vector<float>& v);
  void set_array_i32(std::string_view key, const std::vector<int32_t>& v);
  void set_array_u32(std::string_view key, const std::vector<uint32_t>& v);
  // Copies one decoded value (e.g. from a Reader) under `key`: any type.
  void set_value(std::string_view key, const Value& v);

  // Copies every key (in file order) and every tensor of `r`; the tensor data
  // stays in r's mapping, so `r` must outlive write_file()/to_bytes().
  void copy_from(const Reader& r);

  // Adds a tensor; `data` must stay alive until write_file() and hold exactly
  // the byte size implied by ne and type. Throws on duplicate names.
  void add_tensor(std::string_view name, const std::vector<int64_t>& ne, DType type,
                  const void* data, size_t nbytes);

  // Size of the serialized file in bytes, without building it (a large
  // general.alignment can make even a tensor-less file large).
  uint64_t byte_size() const;
  // Serializes to a byte buffer (tests, fuzz corpus) or to a file.
  std::vector<uint8_t> to_bytes() const;
  void write_file(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    std::vector<int64_t> ne;
    DType type;
    const void* data;
    size_t nbytes;
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> kvs_;  // key, encoded (type + value)
  std::vector<PendingTensor> tensors_;
  uint32_t alignment() const;
  template <typename Sink>
  void serialize(Sink& sink) const;
  void set_encoded(std::string_view key, std::vector<uint8_t> encoded);
};

}  // namespace kestrel::gguf
