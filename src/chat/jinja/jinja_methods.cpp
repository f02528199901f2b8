// Python methods templates call on values: str (strip, split, startswith,
// replace, format, join, ...), list (append, pop, insert, extend, index,
// ...) and dict (items, keys, values, get, update, ...). Hugging Face's
// sandbox forbids the mutating list/dict methods; kestrel allows them, as
// llama.cpp's renderer does, since some templates rely on them.
#include <algorithm>
#include <unordered_set>

#include "chat/jinja/jinja_builtins.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

const std::unordered_set<std::string> kStrMethods = {
    "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower", "title",
    "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "format", "join", "isdigit", "isalpha",
    "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal", "removeprefix", "removesuffix", "zfill",
    "ljust", "rjust", "center", "swapcase", "partition", "rpartition"};
const std::unordered_set<std::string> kListMethods = {"append", "pop", "index", "insert", "extend", "count",
                                                      "remove", "reverse", "copy", "clear", "sort"};
const std::unordered_set<std::string> kDictMethods = {"items", "keys", "values", "get", "update", "pop",
                                                      "setdefault", "copy", "clear"};

const std::string* opt_str(const CallArgs& a, size_t pos, const char* name, std::string& storage) {
  const Value* v = arg(a, pos, name);
  if (!v || v->is_none()) return nullptr;
  if (!v->is_string()) fail(std::string(name) + " must be a string");
  storage = v->str();
  return &storage;
}

Value str_list(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}

bool all_cps(const std::string& s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

// str.format: {} {0} {name}, with an optional [fill]align width spec.
Value str_format(Interpreter& in, const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}' ) {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else fail("Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t e = fmt.find('}', i);
    if (e == std::string::npos) fail("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, e - i - 1), spec;
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_idx >= a.pos.size()) fail("Replacement index out of range for positional args tuple");
      v = &a.pos[auto_idx++];
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      size_t k = field.size() < 9 ? std::stoul(field) : a.pos.size();
      if (k >= a.pos.size()) fail("Replacement index out of range for positional args tuple");
      v = &a.pos[k];
    } else {
      v = arg(a, a.pos.size(), field);
      if (!v) fail("KeyError: '" + field + "'");
    }
    std::string s = to_str(*v);
    if (!spec.empty()) {
      char fill = ' ', align = v->is_number() ? '>' : '<';
      size_t p = 0;
      if (spec.size() >= 2 && (spec[1] == '<' || spec[1] == '>' || spec[1] == '^')) {
        fill = spec[0];
        align = spec[1];
        p = 2;
      } else if (spec[0] == '<' || spec[0] == '>' || spec[0] == '^') {
        align = spec[0];
        p = 1;
      }
      size_t width = 0;
      while (p < spec.size() && spec[p] >= '0' && spec[p] <= '9' && width < 100000) width = width * 10 + static_cast<size_t>(spec[p++] - '0');
      size_t len = utf8_length(s);
      if (width > len) {
        size_t pad = width - len, left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
        s = std::string(left, fill) + s + std::string(pad - left, fill);
      }
    }
    out += s;
    in.charge(out.size());
    i = e;
  }
  return Value(std::move(out));
}

Value string_method(Interpreter& in, const std::string& s, const std::string& m, CallArgs& a) {
  std::string tmp;
  if (m == "strip" || m == "lstrip" || m == "rstrip")
    return Value(py_strip(s, opt_str(a, 0, "chars", tmp), m != "rstrip", m != "lstrip"));
  if (m == "split" || m == "rsplit") {
    const std::string* sep = opt_str(a, 0, "sep", tmp);
    int64_t maxsplit = int_arg(a, 1, "maxsplit", -1);
    return str_list(m == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit));
  }
  if (m == "splitlines") return str_list(py_splitlines(s));
  if (m == "startswith" || m == "endswith") {
    if (a.pos.empty()) fail(m + "() takes at least 1 argument");
    std::vector<Value> options =
        a.pos[0].is_list() ? a.pos[0].list_data().items : std::vector<Value>{a.pos[0]};
    for (const Value& o : options) {
      if (!o.is_string()) fail(m + " first arg must be str or a tuple of str");
      const std::string& p = o.str();
      bool hit = p.size() <= s.size() &&
                 (m == "startswith" ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
      if (hit) return Value(true);
    }
    return Value(false);
  }
  if (m == "upper") return Value(py_upper(s));
  if (m == "lower") return Value(py_lower(s));
  if (m == "title") return Value(py_title(s));
  if (m == "capitalize") return Value(py_capitalize(s));
  if (m == "swapcase") {
    std::string r = s;
    for (char& c : r) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    return Value(std::move(r));
  }
  if (m == "replace") {
    std::string old = str_arg(a, 0, "old", ""), repl = str_arg(a, 1, "new", "");
    if (repl.size() > old.size()) in.charge(old.empty() ? (s.size() + 1) * repl.size() : s.size() / old.size() * repl.size());
    return Value(py_replace(s, old, repl, int_arg(a, 2, "count", -1)));
  }
  if (m == "find" || m == "rfind" || m == "index" || m == "rindex") {
    long long r = py_find(s, str_arg(a, 0, "sub", ""), m[0] == 'r');
    if (r < 0 && (m == "index" || m == "rindex")) fail("substring not found");
    return Value(static_cast<int64_t>(r));
  }
  if (m == "count") return Value(static_cast<int64_t>(py_count(s, str_arg(a, 0, "sub", ""))));
  if (m == "format") return str_format(in, s, a);
  if (m == "join") {
    std::string out;
    bool first = true;
    for (const Value& v : in.iterate(arg_or(a, 0, "iterable", Value::list()))) {
      if (!v.is_string()) fail(std::string("sequence item: expected str instance, ") + v.type_name() + " found");
      if (!first) out += s;
      first = false;
      out += v.str();
      in.charge(out.size());
    }
    return Value(std::move(out));
  }
  if (m == "isdigit" || m == "isnumeric" || m == "isdecimal") return Value(all_cps(s, [](char c) { return c >= '0' && c <= '9'; }));
  if (m == "isalpha") return Value(all_cps(s, [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }));
  if (m == "isalnum")
    return Value(all_cps(s, [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }));
  if (m == "isspace") {
    std::vector<uint32_t> cps = utf8_decode(s);
    return Value(!cps.empty() && std::all_of(cps.begin(), cps.end(), py_isspace));
  }
  if (m == "islower" || m == "isupper") {
    bool any = false, ok = true;
    for (char c : s) {
      bool lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
      any = any || lo || up;
      if ((m == "islower" && up) || (m == "isupper" && lo)) ok = false;
    }
    return Value(any && ok);
  }
  if (m == "removeprefix" || m == "removesuffix") {
    std::string p = str_arg(a, 0, "prefix", "");
    if (p.size() <= s.size()) {
      if (m == "removeprefix" && s.compare(0, p.size(), p) == 0) return Value(s.substr(p.size()));
      if (m == "removesuffix" && !p.empty() && s.compare(s.size() - p.size(), p.size(), p) == 0)
        return Value(s.substr(0, s.size() - p.size()));
    }
    return Value(s);
  }
  if (m == "zfill" || m == "ljust" || m == "rjust" || m == "center") {
    int64_t width = int_arg(a, 0, "width", 0);
    std::string fill = m == "zfill" ? "0" : str_arg(a, 1, "fillchar", " ");
    int64_t len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return Value(s);
    if (width > static_cast<int64_t>(in.options().max_output_bytes)) fail("width too large");
    size_t pad = static_cast<size_t>(width - len);
    size_t left = m == "rjust" || m == "zfill" ? pad : m == "center" ? pad / 2 + (pad & static_cast<size_t>(width) & 1) : 0;
    std::string out;
    for (size_t i = 0; i < left; ++i) out += fill;
    if (m == "zfill" && !s.empty() && (s[0] == '-' || s[0] == '+')) {
      out = s.substr(0, 1) + out + s.substr(1);
    } else {
      out += s;
    }
    for (size_t i = left; i < pad; ++i) out += fill;
    return Value(std::move(out));
  }
  if (m == "partition" || m == "rpartition") {
    std::string sep = str_arg(a, 0, "sep", "");
    if (sep.empty()) fail("empty separator");
    size_t f = m == "partition" ? s.find(sep) : s.rfind(sep);
    if (f == std::string::npos)
      return m == "partition" ? Value::list({Value(s), Value(""), Value("")}, true)
                              : Value::list({Value(""), Value(""), Value(s)}, true);
    return Value::list({Value(s.substr(0, f)), Value(sep), Value(s.substr(f + sep.size()))}, true);
  }
  fail("'str' object has no attribute '" + m + "'");
}

size_t list_index(int64_t i, size_t n, bool insert) {
  int64_t sn = static_cast<int64_t>(n);
  if (i < 0) i += sn;
  if (insert) return static_cast<size_t>(std::clamp<int64_t>(i, 0, sn));
  if (i < 0 || i >= sn) fail("list index out of range");
  return static_cast<size_t>(i);
}

Value list_method(Interpreter& in, const Value& obj, const std::string& m, CallArgs& a) {
  auto& items = obj.list_data().items;
  if (obj.list_data().tuple && m != "index" && m != "count") fail("'tuple' object has no attribute '" + m + "'");
  auto grow = [&](size_t extra) {
    if (items.size() + extra > static_cast<size_t>(in.options().max_loop_iterations)) fail("list too long");
    in.charge(extra * sizeof(Value));
  };
  if (m == "append") {
    Value v = arg_or(a, 0, "object", Value::none());
    grow(1);
    in.track(obj, v);
    obj.list_data().push(std::move(v));
    return Value::none();
  }
  if (m == "pop") {
    if (items.empty()) fail("pop from empty list");
    size_t i = list_index(int_arg(a, 0, "index", -1), items.size(), false);
    Value v = items[i];
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
    return v;
  }
  if (m == "insert") {
    size_t i = list_index(int_arg(a, 0, "index", 0), items.size(), true);
    Value v = arg_or(a, 1, "object", Value::none());
    grow(1);
    in.track(obj, v);
    obj.list_data().push(std::move(v));  // checks the depth; then rotated into place
    std::rotate(items.begin() + static_cast<std::ptrdiff_t>(i), items.end() - 1, items.end());
    return Value::none();
  }
  if (m == "extend") {
    std::vector<Value> more = in.iterate(arg_or(a, 0, "iterable", Value::list()));
    grow(more.size());
    for (Value& v : more) {
      in.track(obj, v);
      obj.list_data().push(std::move(v));
    }
    return Value::none();
  }
  if (m == "index" || m == "count" || m == "remove") {
    Value x = arg_or(a, 0, "value", Value::none());
    int64_t n = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!equals(items[i], x)) continue;
      if (m == "index") return Value(static_cast<int64_t>(i));
      if (m == "remove") {
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
        return Value::none();
      }
      ++n;
    }
    if (m == "count") return Value(n);
    fail(m == "index" ? to_repr(x) + " is not in list" : "list.remove(x): x not in list");
  }
  if (m == "reverse") {
    std::reverse(items.begin(), items.end());
    return Value::none();
  }
  if (m == "copy") return Value::list(items);
  if (m == "clear") {
    items.clear();
    return Value::none();
  }
  if (m == "sort") {
    bool reverse = arg_or(a, 1, "reverse", Value(false)).truthy();
    std::vector<Value> sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& x, const Value& y) {
      return reverse ? compare(x, y) > 0 : compare(x, y) < 0;
    });
    items = std::move(sorted);
    return Value::none();
  }
  fail("'list' object has no attribute '" + m + "'");
}

Value dict_method(Interpreter& in, const Value& obj, const std::string& m, CallArgs& a) {
  DictData& d = obj.dict_data();
  if (m == "items" || m == "keys" || m == "values") {
    std::vector<Value> out;
    out.reserve(d.items.size());
    for (const auto& [k, v] : d.items)
      out.push_back(m == "items" ? Value::list({k, v}, true) : m == "keys" ? k : v);
    return Value::list(std::move(out));
  }
  if (m == "get" || m == "pop" || m == "setdefault") {
    if (a.pos.empty()) fail(m + " expected at least 1 argument");
    const Value* v = d.find(a.pos[0]);
    const Value* def = arg(a, 1, "default");
    if (m == "get") return v ? *v : def ? *def : Value::none();
    if (m == "setdefault") {
      if (v) return *v;
      Value nv = def ? *def : Value::none();
      in.track(obj, nv);
      d.set(a.pos[0], nv);
      return nv;
    }
    if (!v) {
      if (def) return *def;
      fail("KeyError: " + to_repr(a.pos[0]));
    }
    Value r = *v;
    d.erase(a.pos[0]);
    return r;
  }
  if (m == "update") {
    auto put = [&](const Value& k, const Value& v) {
      in.track(obj, v);
      d.set(k, v);
    };
    if (!a.pos.empty()) {
      const Value& src = a.pos[0];
      if (src.is_dict()) {
        std::vector<std::pair<Value, Value>> copy = src.dict_data().items;
        for (const auto& [k, v] : copy) put(k, v);
      } else {
        for (const Value& kv : in.iterate(src)) {
          std::vector<Value> pair = in.iterate(kv);
          if (pair.size() != 2) fail("dictionary update sequence element has the wrong length");
          put(pair[0], pair[1]);
        }
      }
    }
    for (const auto& [k, v] : a.kw) put(Value(k), v);
    return Value::none();
  }
  if (m == "copy") {
    Value c = Value::dict();
    c.dict_data() = d;
    return c;
  }
  if (m == "clear") {
    d.items.clear();
    d.index.clear();
    return Value::none();
  }
  fail("'dict' object has no attribute '" + m + "'");
}

}  // namespace

bool has_method(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::String: return kStrMethods.count(name) != 0;
    case Kind::List: return kListMethods.count(name) != 0;
    case Kind::Dict: return kDictMethods.count(name) != 0;
    default: return false;
  }
}

Value call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& args) {
  switch (obj.kind()) {
    case Kind::String: return string_method(in, obj.str(), name, args);
    case Kind::List: return list_method(in, obj, name, args);
    case Kind::Dict: return dict_method(in, obj, name, args);
    default: fail(std::string("'") + obj.type_name() + "' object has no attribute '" + name + "'");
  }
}

}  // namespace kestrel::jinja
