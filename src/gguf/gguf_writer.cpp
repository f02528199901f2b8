// GGUF v3 writer: value encoding, tensor layout and the atomic file write.
//
// The layout is byte-for-byte what ggml's gguf_write_to_file produces for the
// same keys and tensors: header, key/values, tensor infos, zero padding to the
// alignment (always, even with no tensors), then each tensor's bytes followed
// by zero padding to the alignment (the last tensor included). Reading a
// llama.cpp file and writing it back through copy_from() therefore
// reproduces it exactly; tests check this on the golden files.
#include "gguf/gguf_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "gguf/byte_cursor.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_type_sizes.h"

namespace kestrel::gguf {

namespace {

constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr size_t kMaxTensorName = 63;  // ggml's GGML_MAX_NAME (64) includes the NUL
constexpr size_t kMaxDims = 4;

// Appends little-endian values to a byte vector.
struct Encoder {
  std::vector<uint8_t> bytes;
  template <typename T>
  void put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void put_type(ValueType t) { put<uint32_t>(static_cast<uint32_t>(t)); }
};

[[noreturn]] void bad_value(std::string_view key, const std::string& msg) {
  throw Error("GGUF writer: key " + quoted(key) + ": " + msg);
}

// Encodes one scalar of type t from a Scalar holding that same type.
void put_scalar(Encoder& e, std::string_view key, ValueType t, const Scalar& s) {
  auto get = [&](auto tag) {
    using T = decltype(tag);
    const T* p = std::get_if<T>(&s);
    if (p == nullptr) bad_value(key, "payload does not match value type " + std::string(value_type_name(t)));
    return *p;
  };
  switch (t) {
    case ValueType::U8: e.put(get(uint8_t{})); return;
    case ValueType::I8: e.put(get(int8_t{})); return;
    case ValueType::U16: e.put(get(uint16_t{})); return;
    case ValueType::I16: e.put(get(int16_t{})); return;
    case ValueType::U32: e.put(get(uint32_t{})); return;
    case ValueType::I32: e.put(get(int32_t{})); return;
    case ValueType::F32: e.put(get(float{})); return;
    case ValueType::BOOL: e.put<uint8_t>(get(bool{}) ? 1 : 0); return;
    case ValueType::STRING: e.put_string(get(std::string_view{})); return;
    case ValueType::U64: e.put(get(uint64_t{})); return;
    case ValueType::I64: e.put(get(int64_t{})); return;
    case ValueType::F64: e.put(get(double{})); return;
    case ValueType::ARRAY: break;
  }
  bad_value(key, "invalid scalar value type " + std::to_string(static_cast<uint32_t>(t)));
}

// Encodes the array's elements narrowed back to elem_type (the reader widened
// them losslessly, so this restores the original bytes).
void put_array(Encoder& e, std::string_view key, const Array& a) {
  if (a.elem_type == ValueType::ARRAY) bad_value(key, "arrays of arrays are not supported");
  if (static_cast<uint32_t>(a.elem_type) > static_cast<uint32_t>(ValueType::F64)) {
    bad_value(key, "invalid array element type " + std::to_string(static_cast<uint32_t>(a.elem_type)));
  }
  const uint64_t n = a.size();
  e.put_type(ValueType::ARRAY);
  e.put_type(a.elem_type);
  e.put<uint64_t>(n);
  for (uint64_t i = 0; i < n; ++i) {
    switch (a.elem_type) {
      case ValueType::U8: e.put(static_cast<uint8_t>(a.ints[i])); break;
      case ValueType::I8: e.put(static_cast<int8_t>(a.ints[i])); break;
      case ValueType::U16: e.put(static_cast<uint16_t>(a.ints[i])); break;
      case ValueType::I16: e.put(static_cast<int16_t>(a.ints[i])); break;
      case ValueType::U32: e.put(static_cast<uint32_t>(a.ints[i])); break;
      case ValueType::I32: e.put(static_cast<int32_t>(a.ints[i])); break;
      case ValueType::U64: e.put(static_cast<uint64_t>(a.ints[i])); break;
      case ValueType::I64: e.put(static_cast<int64_t>(a.ints[i])); break;
      case ValueType::BOOL: e.put<uint8_t>(a.ints[i] != 0 ? 1 : 0); break;
      case ValueType::F32: e.put(static_cast<float>(a.floats[i])); break;
      case ValueType::F64: e.put(a.floats[i]); break;
      case ValueType::STRING: e.put_string(a.strings[i]); break;
      case ValueType::ARRAY: break;  // rejected above
    }
  }
}

uint64_t pad_size(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

// Collects the serialized file in memory.
struct BufferSink {
  std::vector<uint8_t> out;
  void write(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
};

// Counts bytes only (byte_size()).
struct CountingSink {
  uint64_t n = 0;
  void write(const void*, size_t k) { n += k; }
};

// Streams to a FILE*, remembering the first error (checked once at the end).
// Large writes (tensor data) are interruption points: a signal stops the
// write there and the temporary file is removed.
struct FileSink {
  std::FILE* f;
  bool ok = true;
  int err = 0;
  void write(const void* p, size_t n) {
    if (n >= 4096) checkpoint("write");
    if (ok && n > 0 && std::fwrite(p, 1, n, f) != n) {
      ok = false;
      err = errno;
    }
  }
};

template <typename Sink>
void write_zeros(Sink& sink, uint64_t n) {
  static constexpr uint8_t kZeros[256] = {};
  while (n > 0) {
    const size_t k = n < sizeof kZeros ? static_cast<size_t>(n) : sizeof kZeros;
    sink.write(kZeros, k);
    n -= k;
  }
}

}  // namespace

void Writer::set_encoded(std::string_view key, std::vector<uint8_t> encoded) {
  if (key.empty()) throw Error("GGUF writer: empty key");
  for (auto& kv : kvs_) {
    if (kv.first == key) {  // replace in place, keeping the key's position
      kv.second = std::move(encoded);
      return;
    }
  }
  kvs_.emplace_back(std::string(key), std::move(encoded));
}

void Writer::set_value(std::string_view key, const Value& v) {
  Encoder e;
  if (v.type == ValueType::ARRAY) {
    put_array(e, key, v.array);
  } else {
    e.put_type(v.type);
    put_scalar(e, key, v.type, v.scalar);
  }
  set_encoded(key, std::move(e.bytes));
}

void Writer::set_u8(std::string_view key, uint8_t v) { set_value(key, Value{ValueType::U8, v, {}}); }
void Writer::set_i8(std::string_view key, int8_t v) { set_value(key, Value{ValueType::I8, v, {}}); }
void Writer::set_u16(std::string_view key, uint16_t v) { set_value(key, Value{ValueType::U16, v, {}}); }
void Writer::set_i16(std::string_view key, int16_t v) { set_value(key, Value{ValueType::I16, v, {}}); }
void Writer::set_u32(std::string_view key, uint32_t v) { set_value(key, Value{ValueType::U32, v, {}}); }
void Writer::set_i32(std::string_view key, int32_t v) { set_value(key, Value{ValueType::I32, v, {}}); }
void Writer::set_u64(std::string_view key, uint64_t v) { set_value(key, Value{ValueType::U64, v, {}}); }
void Writer::set_i64(std::string_view key, int64_t v) { set_value(key, Value{ValueType::I64, v, {}}); }
void Writer::set_f32(std::string_view key, float v) { set_value(key, Value{ValueType::F32, v, {}}); }
void Writer::set_f64(std::string_view key, double v) { set_value(key, Value{ValueType::F64, v, {}}); }
void Writer::set_bool(std::string_view key, bool v) { set_value(key, Value{ValueType::BOOL, v, {}}); }
void Writer::set_string(std::string_view key, std::string_view v) {
  set_value(key, Value{ValueType::STRING, v, {}});
}

void Writer::set_array_strings(std::string_view key, const std::vector<std::string>& v) {
  Value val{ValueType::ARRAY, {}, {}};
  val.array.elem_type = ValueType::STRING;
  val.array.strings.assign(v.begin(), v.end());
  set_value(key, val);
}

void Writer::set_array_f32(std::string_view key, const std::vector<float>& v) {
  Value val{ValueType::ARRAY, {}, {}};
  val.array.elem_type = ValueType::F32;
  val.array.floats.assign(v.begin(), v.end());
  set_value(key, val);
}

void Writer::set_array_i32(std::string_view key, const std::vector<int32_t>& v) {
  Value val{ValueType::ARRAY, {}, {}};
  val.array.elem_type = ValueType::I32;
  val.array.ints.assign(v.begin(), v.end());
  set_value(key, val);
}

void Writer::set_array_u32(std::string_view key, const std::vector<uint32_t>& v) {
  Value val{ValueType::ARRAY, {}, {}};
  val.array.elem_type = ValueType::U32;
  val.array.ints.assign(v.begin(), v.end());
  set_value(key, val);
}

void Writer::copy_from(const Reader& r) {
  for (const KeyValue& kv : r.metadata()) set_value(kv.key, kv.value);
  for (const TensorInfo& t : r.tensors()) add_tensor(t.name, t.ne, t.type, r.tensor_data(t), t.nbytes);
}

void Writer::add_tensor(std::string_view name, const std::vector<int64_t>& ne, DType type,
                        const void* data, size_t nbytes) {
  const std::string where = "GGUF writer: tensor " + quoted(name) + ": ";
  if (name.size() > kMaxTensorName) {
    throw Error(where + "name longer than " + std::to_string(kMaxTensorName) + " bytes (ggml's limit)");
  }
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) throw Error(where + "duplicate tensor name");
  }
  if (ne.empty() || ne.size() > kMaxDims) {
    throw Error(where + std::to_string(ne.size()) + " dimensions; GGUF tensors have 1 to 4");
  }
  const TypeSize* ts = find_type_size(static_cast<uint32_t>(type));
  if (ts == nullptr) throw Error(where + "unknown tensor type id " + std::to_string(static_cast<uint32_t>(type)));
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d < 0) throw Error(where + "negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, d == 0 ? int64_t{1} : d, &n)) throw Error(where + "element count overflows int64");
  }
  if (ne[0] % ts->block_size != 0) {
    throw Error(where + "row length " + std::to_string(ne[0]) + " is not a multiple of the " +
                std::string(ts->name) + " block size " + std::to_string(ts->block_size));
  }
  int64_t n_elements = 1;
  for (int64_t d : ne) n_elements *= d;
  const std::optional<uint64_t> expect = tensor_nbytes(*ts, n_elements);
  if (!expect || *expect != nbytes) {
    throw Error(where + "data is " + std::to_string(nbytes) + " bytes but the shape needs " +
                (expect ? std::to_string(*expect) : std::string("more than 2^64")));
  }
  if (data == nullptr && nbytes > 0) throw Error(where + "null data");
  tensors_.push_back(PendingTensor{std::string(name), ne, type, data, nbytes});
}

uint32_t Writer::alignment() const {
  for (const auto& [key, enc] : kvs_) {
    if (key != "general.alignment") continue;
    uint32_t type = 0, value = 0;
    std::memcpy(&type, enc.data(), sizeof type);
    if (type != static_cast<uint32_t>(ValueType::U32)) {
      throw Error("GGUF writer: key 'general.alignment' must be of type u32");
    }
    std::memcpy(&value, enc.data() + sizeof type, sizeof value);
    if (value == 0 || (value & (value - 1)) != 0) {
      throw Error("GGUF writer: general.alignment " + std::to_string(value) + " is not a nonzero power of two");
    }
    return value;
  }
  return kDefaultAlignment;
}

template <typename Sink>
void Writer::serialize(Sink& sink) const {
  const uint64_t align = alignment();
  Encoder head;
  head.bytes = {'G', 'G', 'U', 'F'};
  head.put<uint32_t>(kVersion);
  head.put<uint64_t>(tensors_.size());
  head.put<uint64_t>(kvs_.size());
  sink.write(head.bytes.data(), head.bytes.size());
  uint64_t written = head.bytes.size();

  for (const auto& [key, enc] : kvs_) {
    Encoder k;
    k.put_string(key);
    sink.write(k.bytes.data(), k.bytes.size());
    sink.write(enc.data(), enc.size());
    written += k.bytes.size() + enc.size();
  }

  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    Encoder info;
    info.put_string(t.name);
    info.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) info.put<uint64_t>(static_cast<uint64_t>(d));
    info.put<uint32_t>(static_cast<uint32_t>(t.type));
    info.put<uint64_t>(offset);
    sink.write(info.bytes.data(), info.bytes.size());
    written += info.bytes.size();
    offset += pad_size(t.nbytes, align);
  }
  write_zeros(sink, pad_size(written, align) - written);

  for (const PendingTensor& t : tensors_) {
    sink.write(t.data, t.nbytes);
    write_zeros(sink, pad_size(t.nbytes, align) - t.nbytes);
  }
}

uint64_t Writer::byte_size() const {
  CountingSink sink;
  serialize(sink);
  return sink.n;
}

std::vector<uint8_t> Writer::to_bytes() const {
  BufferSink sink;
  serialize(sink);
  return std::move(sink.out);
}

void Writer::write_file(const std::string& path) const {
  TempFile tmp(path);  // removed on every way out but commit()
  FileSink sink{tmp.file()};
  serialize(sink);
  if (!sink.ok) throw Error("GGUF writer: writing '" + tmp.path() + "' failed: " + std::strerror(sink.err));
  tmp.commit();
}

}  // namespace kestrel::gguf
