// Checked hyper-parameter reading (model_keys.h).
#include "models/model_keys.h"

#include <cmath>
#include <cstdio>
#include <variant>

#include "core/error.h"

namespace kestrel {
namespace {

bool is_integer_type(gguf::ValueType t) {
  using gguf::ValueType;
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
    case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
      return true;
    default:
      return false;
  }
}

bool is_float_type(gguf::ValueType t) { return t == gguf::ValueType::F32 || t == gguf::ValueType::F64; }

std::string fmt_double(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Scalars as text; u64 stays unsigned so 2^64-1 is not printed as -1.
std::string scalar_text(const gguf::Scalar& s) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          std::string out = "\"" + std::string(v.substr(0, 40)) + (v.size() > 40 ? "...\"" : "\"");
          for (char& c : out) {
            if (static_cast<unsigned char>(c) < 0x20) c = '?';  // keep the message on one line
          }
          return out;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_floating_point_v<T>) {
          return fmt_double(static_cast<double>(v));
        } else {
          return std::to_string(v);
        }
      },
      s);
}

std::string range_text(int64_t lo, int64_t hi) { return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; }

}  // namespace

std::string KeyReader::value_text(std::string_view key) const {
  const gguf::Value* v = r_.find(full(key));
  if (!v) return "(absent)";
  if (v->type == gguf::ValueType::ARRAY) {
    return "[array of " + std::to_string(v->array.size()) + " " + std::string(gguf::value_type_name(v->array.elem_type)) +
           "]";
  }
  return scalar_text(v->scalar);
}

void KeyReader::fail(std::string_view key, const std::string& why) const {
  throw Error(r_.path() + ": " + full(key) + " = " + value_text(key) + ": " + why);
}

const gguf::Value& KeyReader::require_number(std::string_view key, bool integer) const {
  const gguf::Value& v = *r_.find(full(key));
  const bool ok = integer ? is_integer_type(v.type) : (is_integer_type(v.type) || is_float_type(v.type));
  if (!ok) {
    const std::string shown = v.type == gguf::ValueType::ARRAY ? "" : " (" + value_text(key) + ")";
    throw Error(r_.path() + ": " + full(key) + " has type " + std::string(gguf::value_type_name(v.type)) + shown +
                ", expected " + (integer ? "an integer" : "a number"));
  }
  return v;
}

int64_t KeyReader::required_int(std::string_view key, int64_t lo, int64_t hi) const {
  if (!has(key)) throw Error(r_.path() + ": missing required key " + full(key));
  return optional_int(key, lo, lo, hi);
}

int64_t KeyReader::optional_int(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) return fallback;
  const gguf::Value& v = require_number(key, true);
  if (v.type == gguf::ValueType::U64 && std::get<uint64_t>(v.scalar) > static_cast<uint64_t>(hi)) {
    fail(key, "out of range " + range_text(lo, hi));  // before get_int, which cannot hold it
  }
  const int64_t x = *r_.get_int(full(key));
  if (x < lo || x > hi) fail(key, x <= 0 && lo > 0 ? "must be positive" : "out of range " + range_text(lo, hi));
  return x;
}

double KeyReader::optional_positive(std::string_view key, double fallback, double lo, double hi) const {
  if (!has(key)) return fallback;
  require_number(key, false);
  const double x = *r_.get_float(full(key));
  if (!std::isfinite(x) || !(x > lo) || x > hi) {
    fail(key, "must be a finite number in (" + fmt_double(lo) + ", " + fmt_double(hi) + "]");
  }
  return x;
}

std::string KeyReader::optional_string(std::string_view key, std::string_view fallback) const {
  if (!has(key)) return std::string(fallback);
  const gguf::Value& v = *r_.find(full(key));
  if (v.type != gguf::ValueType::STRING) {
    throw Error(r_.path() + ": " + full(key) + " has type " + std::string(gguf::value_type_name(v.type)) +
                ", expected a string");
  }
  return std::string(std::get<std::string_view>(v.scalar));
}

}  // namespace kestrel
