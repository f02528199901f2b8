// Checked reading of a model's hyper-parameters from GGUF metadata.
//
// A structurally valid GGUF can still hold values that make the forward
// pass compute garbage (a NaN RMS epsilon, a zero RoPE base, a head count
// that does not divide the embedding). Every key the loader reads goes
// through a KeyReader, which checks its type and range where it is read
// and names the key and the value on failure:
//   "M.gguf: llama.attention.layer_norm_rms_epsilon = nan: must be a finite number in (0, 1]"
//   "M.gguf: llama.block_count has type string (\"abc\"), expected an integer"
// Consistency between keys and with tensor shapes is checked by the
// loader (model.cpp), with messages built by fail().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gguf/gguf_reader.h"

namespace kestrel {

class KeyReader {
 public:
  // `prefix` is prepended to every key ("llama." for llama.*).
  KeyReader(const gguf::Reader& r, std::string prefix) : r_(r), prefix_(std::move(prefix)) {}

  bool has(std::string_view key) const { return r_.find(full(key)) != nullptr; }
  // An integer in [lo, hi]; required_int throws when the key is absent.
  int64_t required_int(std::string_view key, int64_t lo, int64_t hi) const;
  int64_t optional_int(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const;
  // A finite number in (lo, hi] (open below: every float the loader reads
  // must be strictly positive) or the fallback when absent.
  double optional_positive(std::string_view key, double fallback, double lo, double hi) const;
  std::string optional_string(std::string_view key, std::string_view fallback) const;

  // Throws "PATH: KEY = VALUE: why" for a key whose value breaks a rule.
  [[noreturn]] void fail(std::string_view key, const std::string& why) const;
  // The stored value as the messages print it ("nan", "4096", "\"abc\"").
  std::string value_text(std::string_view key) const;
  std::string full(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  const gguf::Value& require_number(std::string_view key, bool integer) const;
  const gguf::Reader& r_;
  std::string prefix_;
};

}  // namespace kestrel
