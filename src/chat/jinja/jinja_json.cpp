// The tojson filter's serializer: Python's json.dumps, byte for byte.
//
// Hugging Face replaces Jinja2's HTML-safe tojson with
// json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...),
// so this follows json.dumps: ", " / ": " separators (",", ": " once an
// indent is given), Python's float repr, NaN/Infinity, control characters as
// \uXXXX, and "Circular reference detected" for a list that holds itself.
#include <algorithm>
#include <cmath>

#include "chat/jinja/jinja_strings.h"
#include "chat/jinja/jinja_value.h"

namespace kestrel::jinja {
namespace {

constexpr int kMaxDepth = 256;
const char* kHex = "0123456789abcdef";

void escape_u(std::string& out, uint32_t u) {
  out += "\\u";
  for (int sh = 12; sh >= 0; sh -= 4) out += kHex[(u >> sh) & 15];
}

void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  bool ascii = is_ascii(s);
  auto one = [&](uint32_t cp) {
    switch (cp) {
      case '"': out += "\\\""; return;
      case '\\': out += "\\\\"; return;
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case '\b': out += "\\b"; return;
      case '\f': out += "\\f"; return;
      default: break;
    }
    if (cp < 0x20) {
      escape_u(out, cp);
    } else if (cp >= 0x80 && (ensure_ascii || (cp >= 0xdc80 && cp <= 0xdcff))) {
      // A lone surrogate (undecodable byte) is what Python would print too.
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        escape_u(out, 0xd800 + (v >> 10));
        escape_u(out, 0xdc00 + (v & 0x3ff));
      } else {
        escape_u(out, cp);
      }
    } else {
      utf8_append(out, cp);
    }
  };
  if (ascii)
    for (unsigned char c : s) one(c);
  else
    for (uint32_t cp : utf8_decode(s)) one(cp);
  out += '"';
}

struct Dumper {
  const JsonFormat& fmt;
  std::string out;
  std::vector<const void*> stack;

  void newline(size_t level) {
    out += '\n';
    for (size_t i = 0; i < level; ++i) out += fmt.indent_str;
  }

  void key(const Value& k) {
    switch (k.kind()) {
      case Kind::String: json_string(out, k.str(), fmt.ensure_ascii); return;
      case Kind::Bool: out += k.as_bool() ? "\"true\"" : "\"false\""; return;
      case Kind::None: out += "\"null\""; return;
      case Kind::Int:
      case Kind::Float: {
        out += '"';
        scalar(k);
        out += '"';
        return;
      }
      default: {
        std::string msg = "keys must be str, int, float, bool or None, not ";
        msg += k.type_name();
        fail(msg);
      }
    }
  }

  void scalar(const Value& v) {
    switch (v.kind()) {
      case Kind::None: out += "null"; return;
      case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
      case Kind::Int: out += std::to_string(v.as_int()); return;
      case Kind::Float: {
        double d = v.as_double();
        if (std::isnan(d)) out += "NaN";
        else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
        else out += float_repr(d);
        return;
      }
      case Kind::String: json_string(out, v.str(), fmt.ensure_ascii); return;
      default: {
        std::string msg = "Object of type ";
        msg += v.type_name();
        msg += " is not JSON serializable";
        fail(msg);
      }
    }
  }

  void value(const Value& v) {
    if (!v.is_list() && !v.is_dict()) return scalar(v);
    if (std::find(stack.begin(), stack.end(), v.identity()) != stack.end()) fail("Circular reference detected");
    if (stack.size() >= kMaxDepth) fail("maximum recursion depth exceeded while encoding a JSON object");
    stack.push_back(v.identity());
    size_t level = stack.size();
    bool pretty = fmt.indent >= 0;
    if (v.is_list()) {
      const auto& items = v.list_data().items;
      if (items.empty()) {
        out += "[]";
      } else {
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += fmt.item_sep;
          if (pretty) newline(level);
          value(items[i]);
        }
        if (pretty) newline(level - 1);
        out += ']';
      }
    } else {
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict_data().items) items.push_back(&kv);
      if (fmt.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return compare(a->first, b->first) < 0; });
      if (items.empty()) {
        out += "{}";
      } else {
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += fmt.item_sep;
          if (pretty) newline(level);
          key(items[i]->first);
          out += fmt.key_sep;
          value(items[i]->second);
        }
        if (pretty) newline(level - 1);
        out += '}';
      }
    }
    stack.pop_back();
  }
};

}  // namespace

std::string to_json(const Value& v, const JsonFormat& fmt) {
  Dumper d{fmt, {}, {}};
  d.value(v);
  return std::move(d.out);
}

}  // namespace kestrel::jinja
