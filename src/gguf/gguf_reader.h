// Memory-mapped GGUF v2/v3 reader.
//
// open() maps the file read-only, validates the whole header (magic, version,
// every length and count against the bytes actually present, known tensor
// types, row lengths divisible by the block size, overflow-free size products,
// offsets that equal the running padded sum as ggml requires, data inside the
// file, no duplicate keys or tensor names, power-of-two general.alignment) and
// throws kestrel::Error with a message naming the first problem it finds.
// After a successful open every accessor is bounds safe and tensor data is
// used in place from the mapping.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/gguf_types.h"

namespace kestrel::gguf {

class Reader {
 public:
  // Maps and validates a file. Throws kestrel::Error on any problem.
  static std::unique_ptr<Reader> open(const std::string& path);
  // Parses a buffer the caller keeps alive (fuzzing, tests). Same checks.
  static std::unique_ptr<Reader> from_memory(const uint8_t* data, size_t size);

  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
  size_t file_size() const { return size_; }
  const std::string& path() const { return path_; }

  const std::vector<KeyValue>& metadata() const { return kvs_; }
  const Value* find(std::string_view key) const;

  // Typed getters. The *_or forms return the fallback when the key is absent;
  // all of them throw kestrel::Error when the key exists with a type that
  // cannot be converted losslessly (e.g. a string where a number is wanted).
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;     // any integer type
  std::optional<double> get_float(std::string_view key) const;    // F32/F64 or integer
  std::optional<bool> get_bool(std::string_view key) const;
  const Array* get_array(std::string_view key) const;
  std::string_view get_string_or(std::string_view key, std::string_view fallback) const;
  int64_t get_int_or(std::string_view key, int64_t fallback) const;
  double get_float_or(std::string_view key, double fallback) const;
  bool get_bool_or(std::string_view key, bool fallback) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // Pointer to the tensor's bytes inside the mapping (nbytes long).
  const uint8_t* tensor_data(const TensorInfo& t) const { return base_ + data_offset_ + t.offset; }
  // Advice that bytes [p, p + n) of the mapping are not needed for now (a
  // packed copy replaced them): their whole pages leave the process's
  // resident set and are read back from the file if touched again.
  void release_pages(const void* p, size_t n) const;

 private:
  Reader() = default;
  void parse();           // gguf_parse.cpp
  void parse_or_throw();  // parse(), with allocation failure reported as kestrel::Error

  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // non-null when we own an mmap
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
  // Name -> index; the views point into the mapping, like the entries.
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace kestrel::gguf
