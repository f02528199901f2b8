// Reader: file mapping, lookups and typed getters (parsing is in gguf_parse.cpp).
//
// The file is mapped read-only with MAP_PRIVATE: tensor data is used in place
// and the page cache is shared with other processes mapping the same model.
#include "gguf/gguf_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>

#include "core/error.h"
#include "gguf/byte_cursor.h"

namespace kestrel::gguf {

namespace {

// Closes a file descriptor on every exit path of open().
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void wrong_type(std::string_view key, ValueType have, const char* want) {
  throw Error("GGUF: key " + quoted(key) + " has type " + std::string(value_type_name(have)) +
              ", expected " + want);
}

}  // namespace

void Reader::release_pages(const void* p, size_t n) const {
  const auto* b = static_cast<const uint8_t*>(p);
  if (!mapping_ || b < base_ || n > size_ || b - base_ > static_cast<std::ptrdiff_t>(size_ - n)) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(b) + page - 1) / page * page;
  const uintptr_t last = (reinterpret_cast<uintptr_t>(b) + n) / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

std::unique_ptr<Reader> Reader::open(const std::string& path) {
  std::unique_ptr<Reader> r(new Reader());
  r->path_ = path;
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
  // rejected below as not a regular file); it changes nothing for mmap.
  FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (fd.fd < 0) throw Error("GGUF: cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw Error("GGUF: cannot stat '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error("GGUF: '" + path + "' is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw Error("GGUF: '" + path + "' is not a regular file");
  r->size_ = static_cast<size_t>(st.st_size);
  if (r->size_ > 0) {
    void* m = ::mmap(nullptr, r->size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (m == MAP_FAILED) throw Error("GGUF: cannot map '" + path + "': " + std::strerror(errno));
    r->mapping_ = m;
    r->base_ = static_cast<const uint8_t*>(m);
  }
  try {
    r->parse_or_throw();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (file '" + path + "')");
  }
  return r;
}

void Reader::parse_or_throw() {
  // Decoded metadata can be several times larger than its encoding (an array
  // of N bools becomes N int64); running out of memory on a huge or hostile
  // file is reported like any other bad input.
  try {
    parse();
  } catch (const std::bad_alloc&) {
    throw Error("GGUF: out of memory while decoding the header (file size " + std::to_string(size_) + ")");
  } catch (const std::length_error&) {
    throw Error("GGUF: out of memory while decoding the header (file size " + std::to_string(size_) + ")");
  }
}

std::unique_ptr<Reader> Reader::from_memory(const uint8_t* data, size_t size) {
  std::unique_ptr<Reader> r(new Reader());
  r->base_ = data;
  r->size_ = data == nullptr ? 0 : size;
  r->parse_or_throw();
  return r;
}

Reader::~Reader() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

const Value* Reader::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string_view> Reader::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != ValueType::STRING) wrong_type(key, v->type, "string");
  return std::get<std::string_view>(v->scalar);
}

std::optional<int64_t> Reader::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  switch (v->type) {
    case ValueType::U8: return std::get<uint8_t>(v->scalar);
    case ValueType::I8: return std::get<int8_t>(v->scalar);
    case ValueType::U16: return std::get<uint16_t>(v->scalar);
    case ValueType::I16: return std::get<int16_t>(v->scalar);
    case ValueType::U32: return std::get<uint32_t>(v->scalar);
    case ValueType::I32: return std::get<int32_t>(v->scalar);
    case ValueType::I64: return std::get<int64_t>(v->scalar);
    case ValueType::U64: {
      const uint64_t u = std::get<uint64_t>(v->scalar);
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        throw Error("GGUF: key " + quoted(key) + " holds u64 " + std::to_string(u) + ", which does not fit in int64");
      }
      return static_cast<int64_t>(u);
    }
    default: wrong_type(key, v->type, "an integer");
  }
}

std::optional<double> Reader::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  switch (v->type) {
    case ValueType::F32: return std::get<float>(v->scalar);
    case ValueType::F64: return std::get<double>(v->scalar);
    case ValueType::U64: return static_cast<double>(std::get<uint64_t>(v->scalar));
    case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
    case ValueType::U32: case ValueType::I32: case ValueType::I64:
      return static_cast<double>(*get_int(key));
    default: wrong_type(key, v->type, "a number");
  }
}

std::optional<bool> Reader::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != ValueType::BOOL) wrong_type(key, v->type, "bool");
  return std::get<bool>(v->scalar);
}

const Array* Reader::get_array(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->type != ValueType::ARRAY) wrong_type(key, v->type, "array");
  return &v->array;
}

std::string_view Reader::get_string_or(std::string_view key, std::string_view fallback) const {
  return get_string(key).value_or(fallback);
}

int64_t Reader::get_int_or(std::string_view key, int64_t fallback) const {
  return get_int(key).value_or(fallback);
}

double Reader::get_float_or(std::string_view key, double fallback) const {
  return get_float(key).value_or(fallback);
}

bool Reader::get_bool_or(std::string_view key, bool fallback) const {
  return get_bool(key).value_or(fallback);
}

}  // namespace kestrel::gguf
