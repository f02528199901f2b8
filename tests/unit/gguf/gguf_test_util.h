// Shared helpers for the GGUF tests: a small valid file built with the Writer
// (every value type, several tensor types) and byte-patching helpers used to
// make malformed variants of it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace kestrel::gguf::testing {

// Tensor payloads shared by the sample files; filled with a byte pattern that
// never spells a key or tensor name, so name searches in the bytes are exact.
struct SampleData {
  std::vector<uint8_t> f16, q4_0, q4_k, f32;
  SampleData() {
    auto fill = [](std::vector<uint8_t>& v, size_t n, uint8_t seed) {
      v.resize(n);
      for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(0x80 | ((i * 7 + seed) & 0x7f));
    };
    fill(f16, 4 * 2 * 2, 1);   // [4, 2] F16
    fill(q4_0, 2 * 18, 2);     // [32, 2] Q4_0
    fill(q4_k, 144, 3);        // [256] Q4_K
    fill(f32, 8 * 4, 4);       // [8] F32: 32 bytes, so the file ends exactly at its data
  }
};

inline Value array_value(ValueType elem, std::vector<int64_t> ints) {
  Value v{ValueType::ARRAY, {}, {}};
  v.array.elem_type = elem;
  v.array.ints = std::move(ints);
  return v;
}

// A valid file holding every scalar and array type and four tensors. When
// alignment != 0, general.alignment is set to it.
inline std::vector<uint8_t> build_sample(const SampleData& d, uint32_t alignment = 0) {
  Writer w;
  w.set_string("general.architecture", "llama");
  if (alignment != 0) w.set_u32("general.alignment", alignment);
  w.set_u8("t.u8", 200);
  w.set_i8("t.i8", -5);
  w.set_u16("t.u16", 60000);
  w.set_i16("t.i16", -30000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", (uint64_t{1} << 63) + 5);
  w.set_u64("t.u64small", 42);
  w.set_i64("t.i64", -(int64_t{1} << 40));
  w.set_f32("t.f32", 1.5f);
  w.set_f64("t.f64", 2.25);
  w.set_bool("t.bool", true);
  w.set_string("t.str", "hello");
  w.set_array_strings("a.str", {"a", "bc", ""});
  w.set_array_f32("a.f32", {0.5f, -1.0f});
  w.set_array_i32("a.i32", {1, -2, 3});
  w.set_array_u32("a.u32", {7, 4000000000u});
  w.set_value("a.u8", array_value(ValueType::U8, {0, 255}));
  w.set_value("a.i8", array_value(ValueType::I8, {-128, 127}));
  w.set_value("a.u16", array_value(ValueType::U16, {65535}));
  w.set_value("a.i16", array_value(ValueType::I16, {-32768}));
  w.set_value("a.u64", array_value(ValueType::U64, {-1}));  // bit-cast: 2^64 - 1
  w.set_value("a.i64", array_value(ValueType::I64, {std::numeric_limits<int64_t>::min()}));
  w.set_value("a.bool", array_value(ValueType::BOOL, {1, 0, 1}));
  Value f64{ValueType::ARRAY, {}, {}};
  f64.array.elem_type = ValueType::F64;
  f64.array.floats = {1e300, -0.125};
  w.set_value("a.f64", f64);
  w.add_tensor("tensor_a", {4, 2}, DType::F16, d.f16.data(), d.f16.size());
  w.add_tensor("tensor_b", {32, 2}, DType::Q4_0, d.q4_0.data(), d.q4_0.size());
  w.add_tensor("tensor_c", {256}, DType::Q4_K, d.q4_k.data(), d.q4_k.size());
  w.add_tensor("tensor_d", {8}, DType::F32, d.f32.data(), d.f32.size());
  return w.to_bytes();
}

// Position of the first occurrence of `s` in `bytes` (fails the test if absent).
inline size_t find_bytes(const std::vector<uint8_t>& bytes, std::string_view s) {
  for (size_t i = 0; i + s.size() <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, s.data(), s.size()) == 0) return i;
  }
  ADD_FAILURE() << "'" << s << "' not found in sample bytes";
  return 0;
}

template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t pos, T v) {
  ASSERT_LE(pos + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + pos, &v, sizeof(T));
}

template <typename T>
T peek(const std::vector<uint8_t>& bytes, size_t pos) {
  T v{};
  std::memcpy(&v, bytes.data() + pos, sizeof(T));
  return v;
}

// Field positions relative to a key: the key's u64 length precedes its bytes;
// the u32 value type follows them, then the value.
inline size_t key_len_pos(const std::vector<uint8_t>& b, std::string_view key) { return find_bytes(b, key) - 8; }
inline size_t value_type_pos(const std::vector<uint8_t>& b, std::string_view key) {
  return find_bytes(b, key) + key.size();
}
inline size_t value_pos(const std::vector<uint8_t>& b, std::string_view key) { return value_type_pos(b, key) + 4; }

// Field positions in a tensor-info record: name, u32 n_dims, n_dims x u64 ne,
// u32 type, u64 offset.
inline size_t n_dims_pos(const std::vector<uint8_t>& b, std::string_view name) {
  return find_bytes(b, name) + name.size();
}
inline size_t ne_pos(const std::vector<uint8_t>& b, std::string_view name, size_t j) {
  return n_dims_pos(b, name) + 4 + 8 * j;
}
inline size_t type_pos(const std::vector<uint8_t>& b, std::string_view name) {
  return ne_pos(b, name, peek<uint32_t>(b, n_dims_pos(b, name)));
}
inline size_t offset_pos(const std::vector<uint8_t>& b, std::string_view name) { return type_pos(b, name) + 4; }

// Parses `bytes` from an exactly sized heap copy (so a sanitizer build flags
// any read past the end) and returns the kestrel::Error message, or "" if it
// parsed. Any other exception type fails the test.
inline std::string parse_error(const std::vector<uint8_t>& bytes) {
  std::unique_ptr<uint8_t[]> copy(bytes.empty() ? nullptr : new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  try {
    auto r = Reader::from_memory(copy.get(), bytes.size());
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace kestrel::gguf::testing
