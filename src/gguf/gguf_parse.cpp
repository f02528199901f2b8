// GGUF header parser: Reader::parse() and its helpers.
//
// Validates everything before the data section against the bytes actually
// present, in file order, and throws kestrel::Error naming the first problem
// and where it is. The checks follow ggml's gguf.cpp (which is the reader
// llama.cpp uses) so kestrel accepts exactly the files llama.cpp accepts,
// plus a few that only matter to a reader that uses tensor data in place:
// every tensor's bytes must lie inside the file.
#include <algorithm>
#include <string>

#include "gguf/byte_cursor.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_type_sizes.h"

namespace kestrel::gguf {

namespace {

constexpr uint32_t kMaxDims = 4;
constexpr size_t kMaxTensorName = 63;  // ggml's GGML_MAX_NAME (64) counts the NUL
// Smallest possible encodings, used to reject counts that cannot fit in the
// remaining bytes before reserving memory for them.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;               // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, ne[0], type, offset
// Most entries reserved up front from a count read from the file.
constexpr uint64_t kMaxReserve = 4096;

bool is_known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::F64); }

// On-disk size of one fixed-size value, or 8 (the length prefix) for strings.
uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

// Rounds x up to a multiple of the power of two `a`; false on overflow.
bool pad_to(uint64_t x, uint64_t a, uint64_t* out) {
  uint64_t sum = 0;
  if (__builtin_add_overflow(x, a - 1, &sum)) return false;
  *out = sum & ~(a - 1);
  return true;
}

Scalar read_scalar(ByteCursor& c, ValueType t) {
  switch (t) {
    case ValueType::U8: return c.read<uint8_t>("u8 value");
    case ValueType::I8: return c.read<int8_t>("i8 value");
    case ValueType::U16: return c.read<uint16_t>("u16 value");
    case ValueType::I16: return c.read<int16_t>("i16 value");
    case ValueType::U32: return c.read<uint32_t>("u32 value");
    case ValueType::I32: return c.read<int32_t>("i32 value");
    case ValueType::F32: return c.read<float>("f32 value");
    case ValueType::BOOL: return c.read<uint8_t>("bool value") != 0;  // ggml: any nonzero byte is true
    case ValueType::STRING: return c.read_string("string value");
    case ValueType::U64: return c.read<uint64_t>("u64 value");
    case ValueType::I64: return c.read<int64_t>("i64 value");
    case ValueType::F64: return c.read<double>("f64 value");
    case ValueType::ARRAY: break;
  }
  c.fail("internal: read_scalar on an array");
}

template <typename T>
void read_int_elements(ByteCursor& c, uint64_t n, std::vector<int64_t>& out, const char* what) {
  out.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, uint64_t>) {
      out.push_back(static_cast<int64_t>(c.read<uint64_t>(what)));  // bit-cast, see gguf_types.h
    } else {
      out.push_back(static_cast<int64_t>(c.read<T>(what)));
    }
  }
}

template <typename T>
void read_float_elements(ByteCursor& c, uint64_t n, std::vector<double>& out, const char* what) {
  out.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) out.push_back(static_cast<double>(c.read<T>(what)));
}

void read_array(ByteCursor& c, Array& a) {
  const uint32_t elem = c.read<uint32_t>("array element type");
  if (elem == static_cast<uint32_t>(ValueType::ARRAY)) c.fail("arrays of arrays are not supported");
  if (!is_known_value_type(elem)) c.fail("unknown array element type " + std::to_string(elem));
  a.elem_type = static_cast<ValueType>(elem);
  const uint64_t n = c.read<uint64_t>("array length");
  const uint64_t per = min_value_bytes(a.elem_type);
  if (n > c.remaining() / per) {
    c.fail("array of " + std::to_string(n) + " " + std::string(value_type_name(a.elem_type)) +
           " elements at offset " + std::to_string(c.pos()) + " needs at least " +
           (n > UINT64_MAX / per ? std::string("2^64") : std::to_string(n * per)) +
           " bytes but only " + std::to_string(c.remaining()) + " remain (array count past end of file)");
  }
  switch (a.elem_type) {
    case ValueType::U8: read_int_elements<uint8_t>(c, n, a.ints, "u8 array element"); break;
    case ValueType::I8: read_int_elements<int8_t>(c, n, a.ints, "i8 array element"); break;
    case ValueType::U16: read_int_elements<uint16_t>(c, n, a.ints, "u16 array element"); break;
    case ValueType::I16: read_int_elements<int16_t>(c, n, a.ints, "i16 array element"); break;
    case ValueType::U32: read_int_elements<uint32_t>(c, n, a.ints, "u32 array element"); break;
    case ValueType::I32: read_int_elements<int32_t>(c, n, a.ints, "i32 array element"); break;
    case ValueType::U64: read_int_elements<uint64_t>(c, n, a.ints, "u64 array element"); break;
    case ValueType::I64: read_int_elements<int64_t>(c, n, a.ints, "i64 array element"); break;
    case ValueType::BOOL:
      a.ints.reserve(static_cast<size_t>(n));
      for (uint64_t i = 0; i < n; ++i) a.ints.push_back(c.read<uint8_t>("bool array element") != 0);
      break;
    case ValueType::F32: read_float_elements<float>(c, n, a.floats, "f32 array element"); break;
    case ValueType::F64: read_float_elements<double>(c, n, a.floats, "f64 array element"); break;
    case ValueType::STRING:
      a.strings.reserve(static_cast<size_t>(n));
      for (uint64_t i = 0; i < n; ++i) a.strings.push_back(c.read_string("string array element"));
      break;
    case ValueType::ARRAY: break;  // rejected above
  }
}

void read_value(ByteCursor& c, Value& v) {
  const uint32_t t = c.read<uint32_t>("value type");
  if (!is_known_value_type(t)) c.fail("unknown value type " + std::to_string(t));
  v.type = static_cast<ValueType>(t);
  if (v.type == ValueType::ARRAY) {
    read_array(c, v.array);
  } else {
    v.scalar = read_scalar(c, v.type);
  }
}

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

// Reads one tensor-info record (the offset is checked later, once the data
// section's start is known).
TensorInfo read_tensor_info(ByteCursor& c) {
  TensorInfo t;
  t.name = c.read_string("tensor name");
  c.set_context("tensor " + quoted(t.name));
  if (t.name.size() > kMaxTensorName) {
    c.fail("name is " + std::to_string(t.name.size()) + " bytes; ggml limits tensor names to " +
           std::to_string(kMaxTensorName));
  }
  const uint32_t n_dims = c.read<uint32_t>("dimension count");
  if (n_dims == 0 || n_dims > kMaxDims) {
    c.fail("has " + std::to_string(n_dims) + " dimensions; GGUF tensors have 1 to " +
           std::to_string(kMaxDims));
  }
  t.ne.reserve(n_dims);
  // The product of all dimensions (zeros counted as 1) must fit in int64 so
  // that any product of a subset of them, which users compute, fits too.
  int64_t product = 1;
  for (uint32_t j = 0; j < n_dims; ++j) {
    const uint64_t d = c.read<uint64_t>("dimension");
    if (d > static_cast<uint64_t>(INT64_MAX)) {
      c.fail("dimension " + std::to_string(j) + " is negative (" +
             std::to_string(static_cast<int64_t>(d)) + ")");
    }
    t.ne.push_back(static_cast<int64_t>(d));
    if (__builtin_mul_overflow(product, d == 0 ? int64_t{1} : static_cast<int64_t>(d), &product)) {
      c.fail("product of dimensions overflows int64 (dimension " + std::to_string(j) + " = " +
             std::to_string(d) + ", shape so far " + shape_string(t.ne) + ")");
    }
  }
  const uint32_t type_id = c.read<uint32_t>("tensor type");
  const TypeSize* ts = find_type_size(type_id);
  if (ts == nullptr) {
    const std::string_view known = unsupported_type_name(type_id);
    if (!known.empty()) {
      c.fail("tensor type " + std::string(known) + " (id " + std::to_string(type_id) +
             ") is not supported by kestrel");
    }
    c.fail("unknown tensor type id " + std::to_string(type_id));
  }
  t.type = ts->type;
  if (t.ne[0] % ts->block_size != 0) {
    c.fail("row length ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " +
           std::string(ts->name) + " block size " + std::to_string(ts->block_size));
  }
  const std::optional<uint64_t> nbytes = tensor_nbytes(*ts, t.n_elements());
  if (!nbytes) c.fail("byte size of shape " + shape_string(t.ne) + " overflows uint64");
  t.nbytes = *nbytes;
  t.offset = c.read<uint64_t>("data offset");
  return t;
}

}  // namespace

void Reader::parse() {
  ByteCursor c(base_, size_);

  // Header.
  c.set_context("header");
  c.require(4, "magic");
  if (std::string_view(reinterpret_cast<const char*>(base_), 4) != "GGUF") {
    c.fail("bad magic " + quoted(std::string_view(reinterpret_cast<const char*>(base_), 4)) +
           ", expected 'GGUF' (not a GGUF file)");
  }
  c.read<uint32_t>("magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 0) c.fail("unsupported version 0 (kestrel reads GGUF versions 2 and 3)");
  if ((version_ & 0xFFFFu) == 0) {
    c.fail("version field " + std::to_string(version_) +
           " looks byte-swapped: the file is probably big-endian, which kestrel does not read");
  }
  if (version_ == 1) c.fail("GGUF version 1 is no longer supported (kestrel reads versions 2 and 3)");
  if (version_ > 3) {
    c.fail("GGUF version " + std::to_string(version_) + " is newer than kestrel supports (2 and 3)");
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata key count");
  const uint64_t room = c.remaining();
  if (n_kv > room / kMinKvBytes || n_tensors > room / kMinTensorInfoBytes ||
      n_kv * kMinKvBytes + n_tensors * kMinTensorInfoBytes > room) {
    c.fail("header claims " + std::to_string(n_tensors) + " tensors and " + std::to_string(n_kv) +
           " metadata keys, which cannot fit in the " + std::to_string(room) +
           " bytes that follow (file size " + std::to_string(size_) + ")");
  }

  // Metadata. Entries are appended as they parse rather than allocated from
  // the claimed count: a decoded entry is ~10x its smallest encoding, so
  // trusting the count would let a small file ask for a lot of memory.
  const size_t reserve_kv = static_cast<size_t>(std::min<uint64_t>(n_kv, kMaxReserve));
  kvs_.reserve(reserve_kv);
  kv_index_.reserve(reserve_kv);
  for (size_t i = 0; i < n_kv; ++i) {
    KeyValue& kv = kvs_.emplace_back();
    c.set_context("metadata entry " + std::to_string(i));
    kv.key = c.read_string("key");
    if (kv.key.empty()) c.fail("key is empty");
    c.set_context("key " + quoted(kv.key));
    const auto [it, inserted] = kv_index_.emplace(kv.key, i);
    if (!inserted) {
      c.fail("duplicate key (entries " + std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
    read_value(c, kv.value);
  }

  c.set_context("key 'general.alignment'");
  if (const Value* a = find("general.alignment")) {
    if (a->type != ValueType::U32) {
      c.fail("must be of type u32 but is " + std::string(value_type_name(a->type)));
    }
    const uint32_t v = std::get<uint32_t>(a->scalar);
    if (v == 0 || (v & (v - 1)) != 0) c.fail("alignment " + std::to_string(v) + " is not a nonzero power of two");
    alignment_ = v;
  }

  // Tensor infos.
  const size_t reserve_tensors = static_cast<size_t>(std::min<uint64_t>(n_tensors, kMaxReserve));
  tensors_.reserve(reserve_tensors);
  tensor_index_.reserve(reserve_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    c.set_context("tensor " + std::to_string(i));
    tensors_.push_back(read_tensor_info(c));
    const auto [it, inserted] = tensor_index_.emplace(tensors_.back().name, tensors_.size() - 1);
    if (!inserted) {
      c.fail("duplicate tensor name (tensors " + std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
  }

  // Data section: starts at the header's end padded to the alignment (ggml
  // pads only when there are tensors); tensors follow back to back, each
  // padded, in tensor-info order.
  c.set_context("data section");
  data_offset_ = c.pos();
  if (n_tensors > 0) {
    if (!pad_to(c.pos(), alignment_, &data_offset_) || data_offset_ > size_) {
      c.fail("would start at offset " + std::to_string(data_offset_) + " (end of header " +
             std::to_string(c.pos()) + " padded to alignment " + std::to_string(alignment_) +
             "), past end of file (size " + std::to_string(size_) + ")");
    }
  }
  uint64_t expected = 0;
  for (const TensorInfo& t : tensors_) {
    c.set_context("tensor " + quoted(t.name));
    if (t.offset % alignment_ != 0) {
      c.fail("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    }
    if (t.offset != expected) {
      c.fail("data offset " + std::to_string(t.offset) + " is not the expected " + std::to_string(expected) +
             " (the running sum of the previous tensors' sizes padded to the alignment " +
             std::to_string(alignment_) + ", as ggml requires)");
    }
    uint64_t start = 0, end = 0, padded = 0;
    if (__builtin_add_overflow(data_offset_, t.offset, &start) ||
        __builtin_add_overflow(start, t.nbytes, &end)) {
      c.fail("data range (offset " + std::to_string(t.offset) + ", " + std::to_string(t.nbytes) +
             " bytes) overflows uint64");
    }
    if (end > size_) {
      c.fail("data range [" + std::to_string(start) + ", " + std::to_string(end) +
             ") extends past end of file (size " + std::to_string(size_) + ")");
    }
    // Cannot overflow once the range is inside the file; checked anyway.
    if (!pad_to(t.nbytes, alignment_, &padded) || __builtin_add_overflow(expected, padded, &expected)) {
      c.fail("running data size overflows uint64");
    }
  }
}

}  // namespace kestrel::gguf
