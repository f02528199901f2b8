// Typed, checked access to a request body's fields. Each route lists the
// fields it accepts; any other field is a 400 that names it (never silently
// ignored), and a field of the wrong type or out of range is a 400 naming
// the field and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kestrel::server {

class Fields {
 public:
  // Throws a 400 when body is not an object or has a field outside `known`.
  Fields(const nlohmann::json& body, const std::set<std::string>& known);

  bool has(const std::string& name) const;
  const nlohmann::json& raw(const std::string& name) const;
  std::optional<double> number(const std::string& name, double lo, double hi) const;
  std::optional<int64_t> integer(const std::string& name, int64_t lo, int64_t hi) const;
  std::optional<bool> boolean(const std::string& name) const;
  std::optional<std::string> string(const std::string& name) const;
  // A string or an array of strings (at most max_items).
  std::vector<std::string> strings(const std::string& name, size_t max_items) const;

 private:
  const nlohmann::json& body_;
};

// Dumps JSON for a response; invalid UTF-8 in generated text is replaced
// (U+FFFD) rather than failing.
std::string to_json_text(const nlohmann::json& j);

}  // namespace kestrel::server
