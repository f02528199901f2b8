// In-memory model of a GGUF file's metadata and tensor index.
//
// Values are decoded eagerly at open time (so every later access is bounds
// safe) but strings and arrays of strings stay views into the mapped file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"

namespace kestrel::gguf {

// Metadata value type ids as stored on disk.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

std::string_view value_type_name(ValueType t);

// An array value: the element type plus the decoded elements. Numeric and
// bool elements are widened into the matching vector; strings are views.
struct Array {
  ValueType elem_type = ValueType::U8;
  std::vector<int64_t> ints;          // U8..I32, U64, I64, BOOL (u64 stored bit-cast)
  std::vector<double> floats;         // F32, F64
  std::vector<std::string_view> strings;  // STRING
  size_t size() const;
};

using Scalar = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                            std::string_view, uint64_t, int64_t, double>;

struct Value {
  ValueType type = ValueType::U8;
  Scalar scalar;  // valid when type != ARRAY
  Array array;    // valid when type == ARRAY
};

struct KeyValue {
  std::string_view key;
  Value value;
};

struct TensorInfo {
  std::string_view name;
  std::vector<int64_t> ne;  // dimensions, innermost (row length) first
  DType type = DType::F32;
  uint64_t offset = 0;      // relative to the start of the data section
  uint64_t nbytes = 0;      // exact (unpadded) byte size
  int64_t n_elements() const;
};

}  // namespace kestrel::gguf
