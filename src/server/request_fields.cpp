// Fields: typed request-field access with 400s that name the field.
#include "server/request_fields.h"

#include <cmath>

#include "server/api_error.h"

namespace kestrel::server {

using nlohmann::json;

Fields::Fields(const json& body, const std::set<std::string>& known) : body_(body) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (!known.count(k)) throw ApiError(400, "unsupported field '" + k + "'", k);
  }
}

bool Fields::has(const std::string& name) const { return body_.contains(name) && !body_[name].is_null(); }

const json& Fields::raw(const std::string& name) const { return body_[name]; }

std::optional<double> Fields::number(const std::string& name, double lo, double hi) const {
  if (!has(name)) return std::nullopt;
  const json& v = body_[name];
  if (!v.is_number()) throw bad_field(name, "expected a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    throw bad_field(name, "must be in [" + json(lo).dump() + ", " + json(hi).dump() + "], got " + v.dump());
  }
  return d;
}

std::optional<int64_t> Fields::integer(const std::string& name, int64_t lo, int64_t hi) const {
  if (!has(name)) return std::nullopt;
  const json& v = body_[name];
  int64_t i = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      throw bad_field(name, "out of range, got " + v.dump());
    }
    i = v.get<int64_t>();
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e15) {
    i = static_cast<int64_t>(v.get<double>());
  } else {
    throw bad_field(name, "expected an integer");
  }
  if (i < lo || i > hi) throw bad_field(name, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  return i;
}

std::optional<bool> Fields::boolean(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (!body_[name].is_boolean()) throw bad_field(name, "expected true or false");
  return body_[name].get<bool>();
}

std::optional<std::string> Fields::string(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (!body_[name].is_string()) throw bad_field(name, "expected a string");
  return body_[name].get<std::string>();
}

std::vector<std::string> Fields::strings(const std::string& name, size_t max_items) const {
  std::vector<std::string> out;
  if (!has(name)) return out;
  const json& v = body_[name];
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > max_items) throw bad_field(name, "at most " + std::to_string(max_items) + " items");
    for (const json& s : v) {
      if (!s.is_string()) throw bad_field(name, "expected strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_field(name, "expected a string or an array of strings");
  }
  for (const auto& s : out) {
    if (s.empty()) throw bad_field(name, "an empty stop string");
  }
  return out;
}

std::string to_json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace kestrel::server
