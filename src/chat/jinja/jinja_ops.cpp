// Python's binary operators on Values (+ - * / // % ** with int overflow
// checks, str and list concatenation and repetition, printf-style `%`),
// membership (`in`), and the argument helpers the builtins share.
#include <cmath>

#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  std::string msg = "unsupported operand type(s) for ";
  msg += op;
  msg += ": '";
  msg += a.type_name();
  msg += "' and '";
  msg += b.type_name();
  msg += "'";
  fail(msg);
}

bool intlike(const Value& v) { return v.is_int() || v.is_bool(); }

void check_overflow(bool overflow) {
  if (overflow) fail("integer overflow (kestrel integers are 64-bit)");
}

// Repeats a str or list `n` times, refusing results past the limits.
Value repeat(Interpreter& in, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  // Nothing to repeat: return at once rather than loop n times (n may be 2^34).
  if (seq.is_string() && seq.str().empty()) return Value("");
  if (seq.is_list() && seq.list_data().items.empty()) return Value::list({}, seq.list_data().tuple);
  if (seq.is_string()) {
    unsigned long long total = static_cast<unsigned long long>(seq.str().size()) * static_cast<unsigned long long>(n);
    if (!seq.str().empty() && total / seq.str().size() != static_cast<unsigned long long>(n)) fail("string too long");
    in.charge(static_cast<size_t>(std::min<unsigned long long>(total, ~size_t{0} >> 1)));
    std::string s;
    s.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < n; ++i) s += seq.str();
    return Value(std::move(s));
  }
  const auto& items = seq.list_data().items;
  unsigned long long total = static_cast<unsigned long long>(items.size()) * static_cast<unsigned long long>(n);
  if (total > static_cast<unsigned long long>(in.options().max_loop_iterations)) fail("list too long");
  in.charge(static_cast<size_t>(total) * sizeof(Value));
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(total));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.list_data().tuple);
}

// printf-style formatting: "%s and %d" % (a, b).
Value percent_format(Interpreter& in, const std::string& fmt, const Value& args) {
  std::vector<Value> vals;
  if (args.is_list() && args.list_data().tuple) vals = args.list_data().items;
  else vals.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail("incomplete format");
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::string_view("-+ #0123456789.").find(fmt[i]) != std::string_view::npos && spec.size() < 16)
      spec += fmt[i++];
    if (i >= fmt.size()) fail("incomplete format");
    char conv = fmt[i];
    if (next >= vals.size()) fail("not enough arguments for format string");
    const Value& v = vals[next++];
    char buf[512];
    if (conv == 's' || conv == 'r' || conv == 'a') {
      std::string s = conv == 's' ? to_str(v) : to_repr(v);
      if (spec.size() == 1) {
        out += s;
      } else {
        spec += 's';
        std::snprintf(buf, sizeof buf, spec.c_str(), s.c_str());
        out += buf;
      }
    } else if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
      if (!v.is_number()) fail("%d format: a number is required");
      spec += "ll";
      spec += conv == 'i' ? 'd' : conv;
      std::snprintf(buf, sizeof buf, spec.c_str(), static_cast<long long>(v.is_float() ? std::trunc(v.as_double()) : v.as_int()));
      out += buf;
    } else if (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' || conv == 'g' || conv == 'G') {
      if (!v.is_number()) fail("must be real number");
      spec += conv;
      std::snprintf(buf, sizeof buf, spec.c_str(), v.as_double());
      out += buf;
    } else {
      fail(std::string("unsupported format character '") + conv + "'");
    }
    in.charge(out.size());
  }
  if (next < vals.size() && !(args.is_dict())) fail("not all arguments converted during string formatting");
  return Value(std::move(out));
}

}  // namespace

Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  const char c = op[0];
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      in.charge(a.str().size() + b.str().size());
      std::string s = a.str();
      s += b.str();
      return Value(std::move(s));
    }
    if (a.is_list() && b.is_list() && a.list_data().tuple == b.list_data().tuple) {
      in.charge((a.list_data().items.size() + b.list_data().items.size()) * sizeof(Value));
      std::vector<Value> items = a.list_data().items;
      items.insert(items.end(), b.list_data().items.begin(), b.list_data().items.end());
      return Value::list(std::move(items), a.list_data().tuple);
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && intlike(b)) return repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && intlike(a)) return repeat(in, b, a.as_int());
  }
  if (op == "%" && a.is_string()) return percent_format(in, a.str(), b);
  if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
  bool ints = intlike(a) && intlike(b);
  if (ints) {
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    switch (c) {
      case '+': check_overflow(__builtin_add_overflow(x, y, &r)); return Value(r);
      case '-': check_overflow(__builtin_sub_overflow(x, y, &r)); return Value(r);
      case '*':
        if (op == "**") {
          if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
          int64_t acc = 1, base = x;
          for (int64_t e = y; e > 0; e >>= 1) {
            if (e & 1) check_overflow(__builtin_mul_overflow(acc, base, &acc));
            if (e > 1) check_overflow(__builtin_mul_overflow(base, base, &base));
          }
          return Value(acc);
        }
        check_overflow(__builtin_mul_overflow(x, y, &r));
        return Value(r);
      case '/':
        if (y == 0) fail(op == "//" ? "integer division or modulo by zero" : "division by zero");
        if (op == "/") return Value(static_cast<double>(x) / static_cast<double>(y));
        if (x == INT64_MIN && y == -1) fail("integer overflow");
        r = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --r;
        return Value(r);
      case '%': {
        if (y == 0) fail("integer division or modulo by zero");
        if (y == -1) return Value(0);
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value(m);
      }
      default: break;
    }
  } else {
    double x = a.as_double(), y = b.as_double();
    switch (c) {
      case '+': return Value(x + y);
      case '-': return Value(x - y);
      case '*':
        if (op == "**") {
          if (x == 0 && y < 0) fail("0.0 cannot be raised to a negative power");
          return Value(std::pow(x, y));
        }
        return Value(x * y);
      case '/':
        if (y == 0) fail(op == "//" ? "float floor division by zero" : "float division by zero");
        if (op == "/") return Value(x / y);
        return Value(std::floor(x / y));
      case '%': {
        if (y == 0) fail("float modulo");
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value(m);
      }
      default: break;
    }
  }
  unsupported(op, a, b);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::Undefined: return false;
    case Kind::String:
      if (!item.is_string()) {
        std::string msg = "'in <string>' requires string as left operand, not ";
        msg += item.type_name();
        fail(msg);
      }
      return container.str().find(item.str()) != std::string::npos;
    case Kind::List:
      for (const Value& v : container.list_data().items)
        if (equals(v, item)) return true;
      return false;
    case Kind::Dict:
    case Kind::Namespace:
      if (item.is_list() && !item.list_data().tuple) fail("unhashable type: 'list'");
      if (item.is_dict()) fail("unhashable type: 'dict'");
      return container.dict_data().find(item) != nullptr;
    default: {
      std::string msg = "argument of type '";
      msg += container.type_name();
      msg += "' is not iterable";
      fail(msg);
    }
  }
}

const Value* arg(const CallArgs& a, size_t pos, std::string_view name) {
  if (pos < a.pos.size()) return &a.pos[pos];
  for (const auto& [k, v] : a.kw)
    if (k == name) return &v;
  return nullptr;
}

Value arg_or(const CallArgs& a, size_t pos, std::string_view name, Value def) {
  const Value* v = arg(a, pos, name);
  return v ? *v : def;
}

int64_t int_arg(const CallArgs& a, size_t pos, std::string_view name, int64_t def) {
  const Value* v = arg(a, pos, name);
  if (!v || v->is_none() || v->is_undefined()) return def;
  if (v->is_int() || v->is_bool()) return v->as_int();
  if (v->is_float()) return static_cast<int64_t>(v->as_double());
  std::string msg = "argument '";
  msg += name;
  msg += "' must be an integer, not ";
  msg += v->type_name();
  fail(msg);
}

std::string str_arg(const CallArgs& a, size_t pos, std::string_view name, std::string def) {
  const Value* v = arg(a, pos, name);
  if (!v || v->is_undefined()) return def;
  return to_str(*v);
}

}  // namespace kestrel::jinja
