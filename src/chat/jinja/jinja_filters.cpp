// The filter registry and the scalar / string filters: trim, upper, lower,
// capitalize, title, replace, default, string, int, float, abs, round,
// escape, safe, tojson, indent, center, wordcount, striptags, format,
// truncate. Sequence filters are in jinja_filters_seq.cpp.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "chat/jinja/jinja_builtins.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

Value f_trim(Interpreter&, const Value& v, CallArgs& a) {
  const Value* chars = arg(a, 0, "chars");
  std::string cs = chars && !chars->is_none() ? to_str(*chars) : std::string();
  return Value(py_strip(to_str(v), chars && !chars->is_none() ? &cs : nullptr, true, true));
}

Value f_upper(Interpreter&, const Value& v, CallArgs&) { return Value(py_upper(to_str(v))); }
Value f_lower(Interpreter&, const Value& v, CallArgs&) { return Value(py_lower(to_str(v))); }
Value f_capitalize(Interpreter&, const Value& v, CallArgs&) { return Value(py_capitalize(to_str(v))); }

// Jinja2's title: words start after whitespace, '-', or an opening bracket.
Value f_title(Interpreter&, const Value& v, CallArgs&) {
  std::string s = to_str(v);
  bool start = true;
  for (char& c : s) {
    bool sep = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '-' || c == '(' ||
               c == '{' || c == '[' || c == '<';
    if (sep) {
      start = true;
      continue;
    }
    if (start) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
    start = false;
  }
  return Value(std::move(s));
}

Value f_replace(Interpreter& in, const Value& v, CallArgs& a) {
  std::string old = str_arg(a, 0, "old", ""), repl = str_arg(a, 1, "new", "");
  int64_t count = int_arg(a, 2, "count", -1);
  std::string s = to_str(v);
  if (!old.empty() && repl.size() > old.size()) in.charge(s.size() / old.size() * (repl.size() - old.size()));
  else if (old.empty()) in.charge((s.size() + 1) * repl.size());
  return Value(py_replace(s, old, repl, count));
}

Value f_default(Interpreter&, const Value& v, CallArgs& a) {
  Value def = arg_or(a, 0, "default_value", Value(""));
  bool boolean = arg_or(a, 1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return def;
  return v;
}

Value f_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string() ? v : Value(to_str(v)); }

Value f_int(Interpreter&, const Value& v, CallArgs& a) {
  Value def = arg_or(a, 0, "default", Value(0));
  int64_t base = int_arg(a, 1, "base", 10);
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(v.as_int());
  if (v.is_float()) {
    double d = v.as_double();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return def;
    return Value(static_cast<int64_t>(d));
  }
  if (!v.is_string()) return def;
  std::string s = py_strip(v.str(), nullptr, true, true);
  std::string digits;
  for (char c : s)
    if (c != '_') digits += c;
  if (base < 2 || base > 36 || digits.empty()) return def;
  errno = 0;
  char* end = nullptr;
  long long r = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
  if (end && *end == '\0' && errno == 0) return Value(static_cast<int64_t>(r));
  // "4.5" is not an int literal; Jinja2 then tries float("4.5").
  char* fend = nullptr;
  double d = std::strtod(s.c_str(), &fend);
  if (base == 10 && fend && *fend == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
  return def;
}

Value f_float(Interpreter&, const Value& v, CallArgs& a) {
  Value def = arg_or(a, 0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_double());
  if (!v.is_string()) return def;
  std::string s = py_strip(v.str(), nullptr, true, true);
  if (s.empty()) return def;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0') return Value(d);
  return def;
}

Value f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) fail("integer overflow");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  fail(std::string("bad operand type for abs(): '") + v.type_name() + "'");
}

Value f_round(Interpreter&, const Value& v, CallArgs& a) {
  int64_t precision = int_arg(a, 0, "precision", 0);
  std::string method = str_arg(a, 1, "method", "common");
  if (!v.is_number()) fail(std::string("type ") + v.type_name() + " doesn't define __round__ method");
  if (method == "common" && !v.is_float()) return Value(v.as_int());  // round(int) stays an int
  double d = v.as_double();
  if (!std::isfinite(d)) return Value(d);
  if (precision > 300) precision = 300;
  if (precision < -300) precision = -300;
  double scale = std::pow(10.0, static_cast<double>(precision));
  if (method == "floor") return Value(std::floor(d * scale) / scale);
  if (method == "ceil") return Value(std::ceil(d * scale) / scale);
  if (method != "common") fail("method must be 'common', 'ceil' or 'floor'");
  if (precision < 0) return Value(std::nearbyint(d * scale) / scale);
  // printf rounds the exact binary value half-to-even, as Python's round().
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), d);
  return Value(std::strtod(buf, nullptr));
}

Value f_safe(Interpreter&, const Value& v, CallArgs&) { return v; }
Value f_escape(Interpreter&, const Value& v, CallArgs&) { return Value(html_escape(to_str(v))); }

Value f_tojson(Interpreter&, const Value& v, CallArgs& a) { return Value(to_json(v, json_format(a, 0))); }

}  // namespace

// Python's str.splitlines: the line breaks Python recognises.
std::vector<std::string> py_splitlines(const std::string& s) {
  std::vector<std::string> lines;
  std::vector<uint32_t> cps = utf8_decode(s);
  std::string cur;
  for (size_t i = 0; i < cps.size(); ++i) {
    uint32_t c = cps[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85 ||
               c == 0x2028 || c == 0x2029;
    if (!brk) {
      utf8_append(cur, c);
      continue;
    }
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    lines.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  return lines;
}

namespace {

Value f_indent(Interpreter& in, const Value& v, CallArgs& a) {
  Value w = arg_or(a, 0, "width", Value(4));
  std::string ind = w.is_string() ? w.str() : std::string(static_cast<size_t>(std::clamp<int64_t>(w.is_number() ? w.as_int() : 4, 0, 4096)), ' ');
  bool first = arg_or(a, 1, "first", Value(false)).truthy();
  bool blank = arg_or(a, 2, "blank", Value(false)).truthy();
  std::string s = to_str(v);
  s += '\n';
  std::vector<std::string> lines = py_splitlines(s);
  in.charge(s.size() + lines.size() * ind.size());
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      rv += '\n';
      if (blank || !lines[i].empty()) rv += ind;
    }
    rv += lines[i];
  }
  if (first) rv = ind + rv;
  return Value(std::move(rv));
}

Value f_center(Interpreter& in, const Value& v, CallArgs& a) {
  std::string s = to_str(v);
  int64_t width = int_arg(a, 0, "width", 80);
  int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return Value(s);
  if (width > static_cast<int64_t>(in.options().max_output_bytes)) fail("center width too large");
  int64_t marg = width - len;
  int64_t left = marg / 2 + (marg & width & 1);
  std::string out(static_cast<size_t>(left), ' ');
  out += s;
  out.append(static_cast<size_t>(marg - left), ' ');
  return Value(std::move(out));
}

bool word_char(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  std::string s = to_str(v);
  int64_t n = 0;
  bool in_word = false;
  for (unsigned char c : s) {
    bool w = word_char(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

// Tags and comments removed, whitespace collapsed, the basic entities decoded.
Value f_striptags(Interpreter&, const Value& v, CallArgs&) {
  std::string s = to_str(v), text;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i + 4);
      if (e == std::string::npos) break;
      i = e + 2;
    } else if (s[i] == '<') {
      size_t e = s.find('>', i + 1);
      if (e == std::string::npos) {
        text += s.substr(i);
        break;
      }
      i = e;
    } else {
      text += s[i];
    }
  }
  std::string joined;
  for (const std::string& w : py_split(text, nullptr, -1)) {
    if (!joined.empty()) joined += ' ';
    joined += w;
  }
  static const std::pair<const char*, const char*> ents[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#34;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [e, r] : ents) joined = py_replace(joined, e, r, -1);
  return Value(std::move(joined));
}

Value f_format(Interpreter& in, const Value& v, CallArgs& a) {
  Value args = a.pos.size() == 1 ? a.pos[0] : Value::list(a.pos, true);
  if (a.pos.size() == 1 && a.pos[0].is_list() && a.pos[0].list_data().tuple) args = Value::list({a.pos[0]}, true);
  return binary_op(in, "%", Value(to_str(v)), args);
}

Value f_truncate(Interpreter&, const Value& v, CallArgs& a) {
  std::string s = to_str(v);
  int64_t length = int_arg(a, 0, "length", 255);
  bool killwords = arg_or(a, 1, "killwords", Value(false)).truthy();
  std::string end = str_arg(a, 2, "end", "...");
  int64_t leeway = int_arg(a, 3, "leeway", 5);
  std::vector<uint32_t> cps = utf8_decode(s);
  int64_t n = static_cast<int64_t>(cps.size()), elen = static_cast<int64_t>(utf8_length(end));
  if (n <= length + leeway) return Value(s);
  size_t cut = static_cast<size_t>(std::max<int64_t>(0, length - elen));
  std::string head = utf8_encode(cps, 0, cut);
  if (!killwords) {
    size_t sp = head.rfind(' ');
    if (sp != std::string::npos) head.resize(sp);
  }
  head += end;
  return Value(std::move(head));
}

Value f_attr(Interpreter& in, const Value& v, CallArgs& a) { return in.get_attr(v, str_arg(a, 0, "name", "")); }

Value f_pprint(Interpreter&, const Value& v, CallArgs&) { return Value(to_repr(v)); }

const std::unordered_map<std::string, FilterFn>& table() {
  static const std::unordered_map<std::string, FilterFn> t = [] {
    std::unordered_map<std::string, FilterFn> m = {
        {"trim", f_trim},         {"upper", f_upper},         {"lower", f_lower},       {"capitalize", f_capitalize},
        {"title", f_title},       {"replace", f_replace},     {"default", f_default},   {"d", f_default},
        {"string", f_string},     {"int", f_int},             {"float", f_float},       {"abs", f_abs},
        {"round", f_round},       {"safe", f_safe},           {"escape", f_escape},     {"e", f_escape},
        {"forceescape", f_escape}, {"tojson", f_tojson},      {"indent", f_indent},     {"center", f_center},
        {"wordcount", f_wordcount}, {"striptags", f_striptags}, {"format", f_format},  {"truncate", f_truncate},
        {"attr", f_attr},         {"pprint", f_pprint},
    };
    for (const auto& [name, fn] : sequence_filters()) m.emplace(name, fn);
    return m;
  }();
  return t;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

JsonFormat json_format(const CallArgs& a, size_t p) {
  JsonFormat f;
  f.ensure_ascii = arg_or(a, p, "ensure_ascii", Value(false)).truthy();
  Value indent = arg_or(a, p + 1, "indent", Value::none());
  if (indent.is_string()) {
    f.indent = 1;
    f.indent_str = indent.str();
  } else if (indent.is_number()) {
    int64_t n = std::clamp<int64_t>(indent.is_float() ? static_cast<int64_t>(indent.as_double()) : indent.as_int(), 0, 1024);
    f.indent = static_cast<int>(n);
    f.indent_str.assign(static_cast<size_t>(n), ' ');
  } else if (!indent.is_none() && !indent.is_undefined()) {
    fail("tojson: indent must be an integer or a string");
  }
  if (f.indent >= 0) f.item_sep.assign(1, ',');
  Value seps = arg_or(a, p + 2, "separators", Value::none());
  if (seps.is_list()) {
    if (seps.list_data().items.size() != 2) fail("tojson: separators must be a pair");
    f.item_sep = to_str(seps.list_data().items[0]);
    f.key_sep = to_str(seps.list_data().items[1]);
  }
  f.sort_keys = arg_or(a, p + 3, "sort_keys", Value(false)).truthy();
  return f;
}

bool has_filter(std::string_view name) { return table().count(std::string(name)) != 0; }

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  auto it = table().find(name);
  if (it == table().end()) fail("no filter named '" + name + "'");
  return it->second(in, v, args);
}

}  // namespace kestrel::jinja
