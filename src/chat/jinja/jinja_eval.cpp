// Expression evaluation, and Jinja2's attribute/item lookup rules:
// `a.b` tries a method or attribute then the key, `a[b]` the key then the
// attribute, and a miss yields Undefined (only using an Undefined as an
// object is an error, as in Jinja2's default Undefined).
#include <algorithm>

#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

std::string object_repr(const Value& obj) {
  if (obj.is_none()) return "None";
  std::string s = obj.type_name();
  s += " object";
  return s;
}

Value missing_attr(const Value& obj, const std::string& name) {
  std::string hint = "'";
  hint += object_repr(obj);
  hint += "' has no attribute '";
  hint += name;
  hint += "'";
  return Value::undefined(std::move(hint));
}

}  // namespace

Value Interpreter::call(const Value& fn, CallArgs& args) {
  if (fn.is_function()) return fn.func().fn(*this, args);
  if (fn.is_undefined()) fail_undefined(fn);
  std::string msg = "'";
  msg += fn.type_name();
  msg += "' object is not callable";
  fail(msg);
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::Dict:
    case Kind::Namespace: {
      if (obj.is_dict() && has_method(obj, name)) break;
      const Value* v = obj.dict_data().find(Value(name));
      if (v) return *v;
      return missing_attr(obj, name);
    }
    default: break;
  }
  if (has_method(obj, name)) {
    return Value::function(name, [obj, name](Interpreter& in, CallArgs& args) {
      return call_method(in, obj, name, args);
    });
  }
  return missing_attr(obj, name);
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::Undefined: fail_undefined(obj);
    case Kind::List:
    case Kind::String:
      if (key.is_int() || key.is_bool()) {
        bool is_str = obj.is_string();
        std::vector<uint32_t> cps;
        if (is_str && !is_ascii(obj.str())) cps = utf8_decode(obj.str());
        int64_t n = is_str ? static_cast<int64_t>(cps.empty() ? obj.str().size() : cps.size())
                           : static_cast<int64_t>(obj.list_data().items.size());
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i < 0 || i >= n) {
          std::string hint = "'";
          hint += object_repr(obj);
          hint += "' has no element ";
          hint += std::to_string(key.as_int());
          return Value::undefined(std::move(hint));
        }
        size_t u = static_cast<size_t>(i);
        if (!is_str) return obj.list_data().items[u];
        if (cps.empty()) return Value(obj.str().substr(u, 1));
        std::string s;
        utf8_append(s, cps[u]);
        return Value(std::move(s));
      }
      break;
    case Kind::Dict: {
      const Value* v = key.is_list() && !key.list_data().tuple ? nullptr : obj.dict_data().find(key);
      if (v) return *v;
      break;
    }
    default: break;
  }
  if (key.is_string()) return get_attr(obj, key.str());
  std::string hint = "'";
  hint += object_repr(obj);
  hint += "' has no element ";
  hint += to_repr(key);
  return Value::undefined(std::move(hint));
}

std::vector<Value> Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return {};
    case Kind::List: return v.list_data().items;
    case Kind::Dict: {
      std::vector<Value> keys;
      keys.reserve(v.dict_data().items.size());
      for (const auto& kv : v.dict_data().items) keys.push_back(kv.first);
      return keys;
    }
    case Kind::String: {
      std::vector<Value> chars;
      if (is_ascii(v.str())) {
        for (char c : v.str()) chars.emplace_back(std::string(1, c));
      } else {
        for (uint32_t cp : utf8_decode(v.str())) {
          std::string s;
          utf8_append(s, cp);
          chars.emplace_back(std::move(s));
        }
      }
      return chars;
    }
    default: {
      std::string msg = "'";
      msg += v.type_name();
      msg += "' object is not iterable";
      fail(msg);
    }
  }
}

Value Interpreter::filter(const std::string& name, const Value& v, CallArgs& args) {
  Value r = apply_filter(*this, name, v, args);
  if (r.is_string()) charge(r.str().size());
  return r;
}

bool Interpreter::test(const std::string& name, const Value& v, CallArgs& args) {
  return apply_test(*this, name, v, args);
}

void Interpreter::eval_args(const Expr& e, size_t first, CallArgs& out) {
  for (size_t i = first; i < e.args.size(); ++i) out.pos.push_back(eval(*e.args[i]));
  for (const auto& [name, expr] : e.kwargs) out.kw.emplace_back(name, eval(*expr));
}

Value Interpreter::eval(const Expr& e) {
  enter(e.line, e.col);
  struct Leave {
    Interpreter* in;
    ~Leave() { in->leave(); }
  } guard{this};
  switch (e.kind) {
    case EK::Const: return e.value;
    case EK::Name: return eval_name(e);
    case EK::List:
    case EK::Tuple:
    case EK::Dict: return eval_literal(e);
    case EK::Attr: return get_attr(eval(*e.args[0]), e.name);
    case EK::Item: return eval_item(e);
    case EK::Slice: return eval_slice(e);
    case EK::Call: return eval_call(e);
    case EK::Filter: return eval_filter(e);
    case EK::Test: return eval_test(e);
    case EK::Unary: return eval_unary(e);
    case EK::Binary: return eval_binary(e);
    case EK::Compare: return eval_compare(e);
    case EK::Concat: return eval_concat(e);
    case EK::Cond:
      if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
      if (e.args[2]) return eval(*e.args[2]);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
  }
  return Value();
}

// Cases with heavy locals are out of line (see exec_output): eval's own
// frame is what deep expressions and recursive macros repeat.
KJ_NOINLINE Value Interpreter::eval_name(const Expr& e) {
  const Value* v = scope_->find(e.name);
  if (v) return *v;
  return Value::undefined("'" + e.name + "' is undefined");
}

KJ_NOINLINE Value Interpreter::eval_literal(const Expr& e) {
  if (e.kind == EK::Dict) {
    Value d = Value::dict();
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
      Value k = eval(*e.args[i]);
      d.dict_data().set(k, eval(*e.args[i + 1]));
    }
    return d;
  }
  std::vector<Value> items;
  items.reserve(e.args.size());
  for (const auto& a : e.args) items.push_back(eval(*a));
  return Value::list(std::move(items), e.kind == EK::Tuple);
}

KJ_NOINLINE Value Interpreter::eval_item(const Expr& e) {
  Value obj = eval(*e.args[0]);
  return get_item(obj, eval(*e.args[1]));
}

KJ_NOINLINE Value Interpreter::eval_filter(const Expr& e) {
  Value v;
  if (e.args[0]) {
    v = eval(*e.args[0]);
  } else {
    const Value* in = scope_->find(" filter input");
    if (in) v = *in;
  }
  CallArgs args;
  eval_args(e, 1, args);
  return filter(e.name, v, args);
}

KJ_NOINLINE Value Interpreter::eval_test(const Expr& e) {
  Value v = eval(*e.args[0]);
  CallArgs args;
  eval_args(e, 1, args);
  return Value(test(e.name, v, args) != e.negated);
}

KJ_NOINLINE Value Interpreter::eval_unary(const Expr& e) {
  Value v = eval(*e.args[0]);
  if (e.name == "not") return Value(!v.truthy());
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float()) return Value(e.name == "-" ? -v.as_double() : v.as_double());
  if (v.is_int() || v.is_bool()) {
    if (e.name == "+") return Value(v.as_int());
    if (v.as_int() == INT64_MIN) fail("integer overflow");
    return Value(-v.as_int());
  }
  fail(std::string("bad operand type for unary ") + e.name + ": '" + v.type_name() + "'");
}

KJ_NOINLINE Value Interpreter::eval_concat(const Expr& e) {
  std::string s;
  for (const auto& a : e.args) {
    Value v = eval(*a);
    if (v.is_string()) s += v.str();
    else s += to_str(v);
    charge(s.size());
  }
  return Value(std::move(s));
}

KJ_NOINLINE Value Interpreter::eval_binary(const Expr& e) {
  if (e.name == "and" || e.name == "or") {
    // Python's and/or return an operand, not a bool.
    Value l = eval(*e.args[0]);
    bool t = l.truthy();
    if (e.name == "and" ? !t : t) return l;
    return eval(*e.args[1]);
  }
  Value l = eval(*e.args[0]);
  Value r = eval(*e.args[1]);
  return binary_op(*this, e.name, l, r);
}

KJ_NOINLINE Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1]);
    const std::string& op = e.ops[i];
    bool ok;
    if (op == "==") ok = equals(left, right);
    else if (op == "!=") ok = !equals(left, right);
    else if (op == "in") ok = contains(right, left);
    else if (op == "notin") ok = !contains(right, left);
    else {
      int c = compare(left, right);
      ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

KJ_NOINLINE Value Interpreter::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == EK::Attr) {
    // Fast path for methods: no bound-method object is built.
    Value obj = eval(*callee.args[0]);
    CallArgs args;
    if ((obj.is_string() || obj.is_list() || obj.is_dict()) && has_method(obj, callee.name)) {
      eval_args(e, 1, args);
      Value r = call_method(*this, obj, callee.name, args);
      if (r.is_string()) charge(r.str().size());
      return r;
    }
    Value fn = get_attr(obj, callee.name);
    eval_args(e, 1, args);
    return call(fn, args);
  }
  Value fn = eval(callee);
  CallArgs args;
  eval_args(e, 1, args);
  return call(fn, args);
}

namespace {

// Python's slice index normalisation (PySlice_AdjustIndices).
void slice_indices(const Value& start, const Value& stop, const Value& step, int64_t n, int64_t& b, int64_t& en,
                   int64_t& st) {
  auto idx = [](const Value& v) -> int64_t {
    if (v.is_int() || v.is_bool()) return v.as_int();
    fail("slice indices must be integers or None");
  };
  st = (step.is_none() || step.is_undefined()) ? 1 : idx(step);
  if (st == 0) fail("slice step cannot be zero");
  auto adjust = [&](const Value& v, int64_t def) -> int64_t {
    if (v.is_none() || v.is_undefined()) return def;
    int64_t i = idx(v);
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  b = adjust(start, st < 0 ? n - 1 : 0);
  en = adjust(stop, st < 0 ? -1 : n);
}

}  // namespace

KJ_NOINLINE Value Interpreter::eval_slice(const Expr& e) {
  Value obj = eval(*e.args[0]);
  Value bounds[3];
  for (int i = 0; i < 3; ++i) bounds[i] = e.args[1 + i] ? eval(*e.args[1 + i]) : Value::none();
  if (obj.is_undefined()) fail_undefined(obj);
  bool is_str = obj.is_string();
  // Jinja2 turns a failed subscript into Undefined; only Undefined itself fails.
  if (!is_str && !obj.is_list()) return Value::undefined(std::string("'") + obj.type_name() + "' object is not subscriptable");
  std::vector<uint32_t> cps;
  if (is_str) cps = utf8_decode(obj.str());
  int64_t n = is_str ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.list_data().items.size());
  int64_t b, en, st;
  slice_indices(bounds[0], bounds[1], bounds[2], n, b, en, st);
  std::string s;
  std::vector<Value> items;
  for (int64_t i = b; st > 0 ? i < en : i > en; i += st) {
    if (is_str) utf8_append(s, cps[static_cast<size_t>(i)]);
    else items.push_back(obj.list_data().items[static_cast<size_t>(i)]);
  }
  if (is_str) return Value(std::move(s));
  return Value::list(std::move(items), obj.list_data().tuple);
}

}  // namespace kestrel::jinja
