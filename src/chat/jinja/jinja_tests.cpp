// The `is` tests: defined, none, string, number, mapping, iterable,
// sequence, boolean, integer, float, true, false, even, odd, divisibleby,
// equalto (eq, ==), ne, lt, le, gt, ge, sameas, in, lower, upper, callable.
// Type tests follow Python's types: a bool is a number but not an integer.
#include <unordered_map>

#include "chat/jinja/jinja_interp.h"

namespace kestrel::jinja {
namespace {

using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

const Value& need(const CallArgs& a, const char* test) {
  if (a.pos.empty()) fail(std::string("test '") + test + "' needs an argument");
  return a.pos[0];
}

int64_t int_of(const Value& v, const char* test) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_int() || v.is_bool()) return v.as_int();
  if (v.is_float()) return static_cast<int64_t>(v.as_double());
  fail(std::string("test '") + test + "' needs a number, not " + v.type_name());
}

bool same(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::Bool:
    case Kind::Int: return a.as_int() == b.as_int();
    case Kind::Float: return a.as_double() == b.as_double();
    case Kind::String: return a.str() == b.str();
    default: return a.identity() == b.identity();
  }
}

bool cased(const std::string& s, bool upper) {
  bool any = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') {
      if (upper) return false;
      any = true;
    } else if (c >= 'A' && c <= 'Z') {
      if (!upper) return false;
      any = true;
    }
  }
  return any;
}

const std::unordered_map<std::string, TestFn>& table() {
  static const std::unordered_map<std::string, TestFn> t = {
      {"defined", [](Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }},
      {"undefined", [](Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }},
      {"none", [](Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }},
      {"string", [](Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }},
      {"number", [](Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }},
      {"integer", [](Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }},
      {"float", [](Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }},
      {"boolean", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }},
      {"true", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }},
      {"false", [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }},
      {"mapping", [](Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }},
      // Jinja2's Undefined is iterable (as empty) and has len/getitem.
      {"iterable", [](Interpreter&, const Value& v, CallArgs&) {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
       }},
      {"sequence", [](Interpreter&, const Value& v, CallArgs&) {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
       }},
      {"callable", [](Interpreter&, const Value& v, CallArgs&) { return v.is_function(); }},
      {"even", [](Interpreter&, const Value& v, CallArgs&) { return int_of(v, "even") % 2 == 0; }},
      {"odd", [](Interpreter&, const Value& v, CallArgs&) { return int_of(v, "odd") % 2 != 0; }},
      {"divisibleby", [](Interpreter&, const Value& v, CallArgs& a) {
         int64_t d = int_of(need(a, "divisibleby"), "divisibleby");
         if (d == 0) fail("integer division or modulo by zero");
         if (d == -1) return true;
         return int_of(v, "divisibleby") % d == 0;
       }},
      {"equalto", [](Interpreter&, const Value& v, CallArgs& a) { return equals(v, need(a, "equalto")); }},
      {"eq", [](Interpreter&, const Value& v, CallArgs& a) { return equals(v, need(a, "eq")); }},
      {"==", [](Interpreter&, const Value& v, CallArgs& a) { return equals(v, need(a, "==")); }},
      {"ne", [](Interpreter&, const Value& v, CallArgs& a) { return !equals(v, need(a, "ne")); }},
      {"!=", [](Interpreter&, const Value& v, CallArgs& a) { return !equals(v, need(a, "!=")); }},
      {"lt", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "lt")) < 0; }},
      {"lessthan", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "lessthan")) < 0; }},
      {"<", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "<")) < 0; }},
      {"le", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "le")) <= 0; }},
      {"<=", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "<=")) <= 0; }},
      {"gt", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "gt")) > 0; }},
      {"greaterthan", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "greaterthan")) > 0; }},
      {">", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, ">")) > 0; }},
      {"ge", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, "ge")) >= 0; }},
      {">=", [](Interpreter&, const Value& v, CallArgs& a) { return compare(v, need(a, ">=")) >= 0; }},
      {"sameas", [](Interpreter&, const Value& v, CallArgs& a) { return same(v, need(a, "sameas")); }},
      {"in", [](Interpreter&, const Value& v, CallArgs& a) { return contains(need(a, "in"), v); }},
      {"lower", [](Interpreter&, const Value& v, CallArgs&) { return cased(to_str(v), false); }},
      {"upper", [](Interpreter&, const Value& v, CallArgs&) { return cased(to_str(v), true); }},
      {"escaped", [](Interpreter&, const Value&, CallArgs&) { return false; }},
  };
  return t;
}

}  // namespace

bool has_test(std::string_view name) { return table().count(std::string(name)) != 0; }

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args) {
  auto it = table().find(name);
  if (it == table().end()) fail("no test named '" + name + "'");
  return it->second(in, v, args);
}

}  // namespace kestrel::jinja
