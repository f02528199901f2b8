// libFuzzer target for the GGUF reader (and, through the round trip, the writer).
//
// For every input: parse it with Reader::from_memory. Rejection must be a
// kestrel::Error (anything else, a crash, a sanitizer report or a leak is a
// finding). When it parses, every accessor is exercised and every byte the
// reader hands out (strings, tensor data) is touched so AddressSanitizer sees
// any view that escapes the buffer. Then the file is re-written with the
// Writer and re-parsed: that must succeed, and writing it again must give the
// same bytes (the writer's output is a fixed point), with tensor payloads
// unchanged.
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace {

using kestrel::Error;
using namespace kestrel::gguf;

// Prevents the compiler from dropping the reads below.
volatile uint64_t g_sink = 0;

void touch(std::string_view s) {
  uint64_t h = s.size();
  for (char c : s) h = h * 31 + static_cast<unsigned char>(c);
  g_sink = g_sink + h;
}

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz_gguf_reader: invariant failed: %s\n", what);
    std::abort();
  }
}

// Calls every getter on `key`; each may throw kestrel::Error for a type
// mismatch, nothing else.
void exercise_getters(const Reader& r, std::string_view key) {
  try { touch(r.get_string_or(key, "")); } catch (const Error&) {}
  try { g_sink = g_sink + static_cast<uint64_t>(r.get_int_or(key, 0)); } catch (const Error&) {}
  try { g_sink = g_sink + static_cast<uint64_t>(r.get_float_or(key, 0.0) != 0.0); } catch (const Error&) {}
  try { g_sink = g_sink + r.get_bool_or(key, false); } catch (const Error&) {}
  try {
    if (const Array* a = r.get_array(key)) {
      for (std::string_view s : a->strings) touch(s);
      g_sink = g_sink + a->size() + a->ints.size() + a->floats.size();
    }
  } catch (const Error&) {}
}

void exercise(const Reader& r) {
  check(r.version() == 2 || r.version() == 3, "version");
  check(r.alignment() != 0 && (r.alignment() & (r.alignment() - 1)) == 0, "alignment");
  check(r.data_offset() <= r.file_size(), "data offset");
  for (const KeyValue& kv : r.metadata()) {
    touch(kv.key);
    check(r.find(kv.key) == &kv.value, "find");
    exercise_getters(r, kv.key);
  }
  for (const TensorInfo& t : r.tensors()) {
    touch(t.name);
    check(r.find_tensor(t.name) == &t, "find_tensor");
    check(!t.ne.empty() && t.ne.size() <= 4, "n_dims");
    check(t.n_elements() >= 0, "n_elements");
    check(t.offset % r.alignment() == 0, "offset alignment");
    check(r.data_offset() + t.offset + t.nbytes <= r.file_size(), "tensor in file");
    if (t.nbytes > 0) {
      const uint8_t* p = r.tensor_data(t);
      g_sink = g_sink + p[0] + p[t.nbytes - 1];
    }
  }
  exercise_getters(r, "general.alignment");
  exercise_getters(r, "not.a.key");
  check(r.find_tensor("not a tensor name that fits in sixty-three bytes, the ggml limit!!") == nullptr,
        "absent tensor");
}

// The writer pads the header to the alignment, so a tiny input declaring
// general.alignment = 2^31 re-writes as a 2 GiB file (ggml writes the same).
// Such outputs are only sized, not built, to stay inside libFuzzer's memory
// limit; the rest of the round trip runs on everything else.
constexpr uint64_t kMaxRewriteBytes = uint64_t{64} << 20;

std::vector<uint8_t> rewrite(const Reader& r) {
  Writer w;
  w.copy_from(r);
  return w.to_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<Reader> r;
  try {
    r = Reader::from_memory(data, size);
  } catch (const Error&) {
    return 0;  // rejected cleanly
  }
  exercise(*r);

  // Anything the reader accepts, the writer must reproduce as a valid file.
  std::vector<uint8_t> once;
  try {
    Writer w;
    w.copy_from(*r);
    const uint64_t expected_size = w.byte_size();
    check(expected_size >= r->data_offset(), "rewritten size covers the header");
    if (expected_size > kMaxRewriteBytes) return 0;
    once = w.to_bytes();
    check(once.size() == expected_size, "byte_size matches to_bytes");
  } catch (const Error& e) {
    fprintf(stderr, "fuzz_gguf_reader: writer rejected a file the reader accepted: %s\n", e.what());
    std::abort();
  }
  std::unique_ptr<Reader> r2;
  try {
    r2 = Reader::from_memory(once.data(), once.size());
  } catch (const Error& e) {
    fprintf(stderr, "fuzz_gguf_reader: reader rejected the writer's output: %s\n", e.what());
    std::abort();
  }
  check(r2->metadata().size() == r->metadata().size(), "round trip key count");
  check(r2->tensors().size() == r->tensors().size(), "round trip tensor count");
  for (size_t i = 0; i < r->tensors().size(); ++i) {
    const TensorInfo& a = r->tensors()[i];
    const TensorInfo& b = r2->tensors()[i];
    check(a.name == b.name && a.ne == b.ne && a.type == b.type && a.nbytes == b.nbytes, "round trip tensor info");
    check(a.nbytes == 0 || std::memcmp(r->tensor_data(a), r2->tensor_data(b), a.nbytes) == 0,
          "round trip tensor data");
  }
  check(rewrite(*r2) == once, "writer output is a fixed point");
  return 0;
}
