// Value construction, Python truthiness, equality, ordering and str()/repr().
#include "chat/jinja/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {

void fail(const std::string& msg) { throw TemplateError(msg, 0, 0); }

void fail_undefined(const Value& v) {
  fail(v.str().empty() ? std::string("value is undefined") : v.str());
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::move(hint);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

namespace {
uint32_t nested(uint32_t child_depth) {
  if (child_depth + 1 > kMaxValueDepth) fail("value nested too deeply (over " + std::to_string(kMaxValueDepth) + " levels)");
  return child_depth + 1;
}
}  // namespace

uint32_t Value::depth() const {
  if (list_) return list_->depth;
  if (dict_) return dict_->depth;
  return 0;
}

void ListData::push(Value v) {
  depth = std::max(depth, nested(v.depth()));
  items.push_back(std::move(v));
}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<ListData>();
  uint32_t d = 0;
  for (const Value& item : items) d = std::max(d, item.depth());
  v.list_->depth = nested(d);
  v.list_->items = std::move(items);
  v.list_->tuple = tuple;
  return v;
}

Value Value::dict() {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::make_shared<DictData>();
  return v;
}

Value Value::ns() {
  Value v = dict();
  v.kind_ = Kind::Namespace;
  return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::Function;
  v.fn_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

namespace {
// nlohmann's parser accepts any depth; converting recursively must not.
constexpr int kMaxJsonDepth = 512;

template <class J>
Value convert(const J& j, int depth) {
  if (depth > kMaxJsonDepth) fail("context nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(convert(e, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value d = Value::dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict_data().set(Value(it.key()), convert(it.value(), depth + 1));
      return d;
    }
    default: return Value::none();  // binary, discarded
  }
}
}  // namespace

Value Value::from_json(const nlohmann::json& j) { return convert(j, 0); }
Value Value::from_json(const nlohmann::ordered_json& j) { return convert(j, 0); }

const void* Value::identity() const {
  if (list_) return list_.get();
  if (dict_) return dict_.get();
  if (fn_) return fn_.get();
  return nullptr;
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool:
    case Kind::Int: return i_ != 0;
    case Kind::Float: return f_ != 0.0;
    case Kind::String: return !s_.empty();
    case Kind::List: return !list_->items.empty();
    case Kind::Dict: return !dict_->items.empty();
    default: return true;
  }
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return list_->tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Function: return "function";
  }
  return "object";
}

namespace {
// Appending, not "lit" + std::string: GCC 12 warns (-Wrestrict) on the latter.
std::string prefixed(char tag, const std::string& s) {
  std::string out(1, tag);
  out += s;
  return out;
}
}  // namespace

std::string key_id(const Value& key) {
  switch (key.kind()) {
    case Kind::String: return prefixed('s', key.str());
    case Kind::Bool:
    case Kind::Int: return prefixed('i', std::to_string(key.as_int()));
    case Kind::Float: {
      double d = key.as_double();
      if (std::floor(d) == d && std::fabs(d) < 9e18) return prefixed('i', std::to_string(static_cast<int64_t>(d)));
      return prefixed('f', float_repr(d));
    }
    case Kind::None: return "n";
    case Kind::List:
      if (key.list_data().tuple) return prefixed('t', to_repr(key));
      fail("unhashable type: 'list'");
    case Kind::Dict: fail("unhashable type: 'dict'");
    case Kind::Undefined: return "u";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "p%p", key.identity());
      return buf;
    }
  }
}

const Value* DictData::find(const Value& key) const {
  auto it = index.find(key_id(key));
  return it == index.end() ? nullptr : &items[it->second].second;
}

Value* DictData::find(const Value& key) {
  auto it = index.find(key_id(key));
  return it == index.end() ? nullptr : &items[it->second].second;
}

void DictData::set(const Value& key, Value v) {
  depth = std::max(depth, nested(std::max(v.depth(), key.depth())));
  std::string id = key_id(key);
  auto it = index.find(id);
  if (it != index.end()) {
    items[it->second].second = std::move(v);
    return;
  }
  index.emplace(std::move(id), items.size());
  items.emplace_back(key, std::move(v));
}

bool DictData::erase(const Value& key) {
  auto it = index.find(key_id(key));
  if (it == index.end()) return false;
  size_t pos = it->second;
  index.erase(it);
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(pos));
  for (auto& [k, p] : index)
    if (p > pos) --p;
  return true;
}

namespace {
constexpr int kMaxCompareDepth = 256;
}

bool equals(const Value& a, const Value& b, int depth) {
  if (depth > kMaxCompareDepth) fail("maximum recursion depth exceeded in comparison");
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::List: {
      const auto &x = a.list_data().items, &y = b.list_data().items;
      if (a.list_data().tuple != b.list_data().tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i], depth + 1)) return false;
      return true;
    }
    case Kind::Dict: {
      const DictData &x = a.dict_data(), &y = b.dict_data();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* o = y.find(k);
        if (!o || !equals(v, *o, depth + 1)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());  // byte order of UTF-8 is code-point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.list_data().tuple == b.list_data().tuple) {
    const auto &x = a.list_data().items, &y = b.list_data().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  std::string msg = "'<' not supported between instances of '";
  msg += a.type_name();
  msg += "' and '";
  msg += b.type_name();
  msg += "'";
  fail(msg);
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, then laid out by Python's repr rule:
  // positional for exponents in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::stoi(sci.substr(epos + 1));
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    int point = exp + 1;  // digits before the decimal point
    if (point <= 0) {
      out += "0.";
      out.append(static_cast<size_t>(-point), '0');
      out += digits;
    } else if (static_cast<size_t>(point) >= digits.size()) {
      out += digits;
      out.append(static_cast<size_t>(point) - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(point));
      out += '.';
      out += digits.substr(static_cast<size_t>(point));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += 'e';
  out += exp < 0 ? '-' : '+';
  int ae = exp < 0 ? -exp : exp;
  if (ae < 10) out += '0';
  out += std::to_string(ae);
  return out;
}

namespace {
constexpr int kMaxReprDepth = 256;

void repr_into(std::string& out, const Value& v, std::vector<const void*>& seen);

void repr_container(std::string& out, const Value& v, std::vector<const void*>& seen) {
  if (seen.size() > kMaxReprDepth) fail("maximum recursion depth exceeded while printing a value");
  for (const void* p : seen)
    if (p == v.identity()) {
      out += v.is_list() ? "[...]" : "{...}";
      return;
    }
  seen.push_back(v.identity());
  if (v.is_list()) {
    const ListData& l = v.list_data();
    out += l.tuple ? '(' : '[';
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += ", ";
      repr_into(out, l.items[i], seen);
    }
    if (l.tuple && l.items.size() == 1) out += ',';
    out += l.tuple ? ')' : ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [k, val] : v.dict_data().items) {
      if (!first) out += ", ";
      first = false;
      repr_into(out, k, seen);
      out += ": ";
      repr_into(out, val, seen);
    }
    out += '}';
  }
  seen.pop_back();
}

void repr_into(std::string& out, const Value& v, std::vector<const void*>& seen) {
  switch (v.kind()) {
    case Kind::String: out += py_str_repr(v.str()); break;
    case Kind::Undefined: out += "Undefined"; break;  // str() of it is empty, repr() is not
    case Kind::List:
    case Kind::Dict: repr_container(out, v, seen); break;
    default: out += to_str(v);
  }
}
}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(v.as_int());
    case Kind::Float: return float_repr(v.as_double());
    case Kind::String: return v.str();
    case Kind::List:
    case Kind::Dict: return to_repr(v);
    case Kind::Namespace: return "<Namespace>";
    case Kind::Function: {
      std::string s = "<function ";
      s += v.func().name;
      s += '>';
      return s;
    }
  }
  return "";
}

std::string to_repr(const Value& v) {
  std::string out;
  std::vector<const void*> seen;
  repr_into(out, v, seen);
  return out;
}

}  // namespace kestrel::jinja
