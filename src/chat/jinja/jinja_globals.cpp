// Global functions: range, namespace, dict, raise_exception, strftime_now
// (what transformers adds), cycler and joiner. range() refuses more than
// 100000 items, the limit of Jinja2's sandbox that Hugging Face renders in,
// so range(10**9) fails at once instead of building a huge list.
#include <ctime>

#include "chat/jinja/jinja_interp.h"

namespace kestrel::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;

Value g_range(Interpreter&, CallArgs& a) {
  auto num = [](const Value& v) -> int64_t {
    if (v.is_int() || v.is_bool()) return v.as_int();
    if (v.is_undefined()) fail_undefined(v);
    fail(std::string("'") + v.type_name() + "' object cannot be interpreted as an integer");
  };
  if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments");
  int64_t start = 0, stop, step = 1;
  if (a.pos.size() == 1) {
    stop = num(a.pos[0]);
  } else {
    start = num(a.pos[0]);
    stop = num(a.pos[1]);
    if (a.pos.size() == 3) step = num(a.pos[2]);
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  // Count without overflow: the span may exceed int64 for extreme bounds.
  __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  __int128 astep = step > 0 ? step : -static_cast<__int128>(step);
  __int128 count = span <= 0 ? 0 : (span + astep - 1) / astep;
  if (count > kMaxRange) fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (__int128 i = 0; i < count; ++i) items.emplace_back(static_cast<int64_t>(start + i * step));
  return Value::list(std::move(items));
}

Value g_namespace(Interpreter&, CallArgs& a) {
  Value ns = Value::ns();
  for (const Value& p : a.pos) {
    if (!p.is_dict() && !p.is_namespace()) fail("namespace() takes a mapping as its positional argument");
    for (const auto& [k, v] : p.dict_data().items) ns.dict_data().set(k, v);
  }
  for (const auto& [k, v] : a.kw) ns.dict_data().set(Value(k), v);
  return ns;
}

Value g_dict(Interpreter& in, CallArgs& a) {
  Value d = Value::dict();
  for (const Value& p : a.pos) {
    if (p.is_dict()) {
      for (const auto& [k, v] : p.dict_data().items) d.dict_data().set(k, v);
      continue;
    }
    for (const Value& kv : in.iterate(p)) {
      std::vector<Value> pair = in.iterate(kv);
      if (pair.size() != 2) fail("dictionary update sequence element has the wrong length");
      d.dict_data().set(pair[0], pair[1]);
    }
  }
  for (const auto& [k, v] : a.kw) d.dict_data().set(Value(k), v);
  return d;
}

Value g_raise(Interpreter&, CallArgs& a) {
  // The interpreter adds the line on the way out; what() stays the message.
  throw RaisedError(a.pos.empty() ? std::string() : to_str(a.pos[0]), 0, 0);
}

Value g_strftime_now(Interpreter& in, CallArgs& a) {
  std::string fmt = str_arg(a, 0, "format", "%Y-%m-%d");
  std::time_t t = in.options().now ? *in.options().now : std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  if (fmt.empty()) return Value("");
  for (size_t cap = 256; cap <= (1u << 16); cap *= 4) {
    std::string buf(cap, '\0');
    size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    if (n > 0) {
      buf.resize(n);
      return Value(std::move(buf));
    }
  }
  return Value("");
}

Value g_cycler(Interpreter&, CallArgs& a) {
  if (a.pos.empty()) fail("cycler needs at least one item");
  Value c = Value::ns();
  std::vector<Value> items = a.pos;
  auto state = std::make_shared<size_t>(0);
  c.dict_data().set(Value("current"), items[0]);
  std::weak_ptr<DictData> weak = c.dict_ptr();  // weak: the cycler holds these functions
  c.dict_data().set(Value("next"), Value::function("next", [items, state, weak](Interpreter&, CallArgs&) {
    Value v = items[*state % items.size()];
    *state = (*state + 1) % items.size();
    if (auto d = weak.lock()) d->set(Value("current"), items[*state]);
    return v;
  }));
  c.dict_data().set(Value("reset"), Value::function("reset", [items, state, weak](Interpreter&, CallArgs&) {
    *state = 0;
    if (auto d = weak.lock()) d->set(Value("current"), items[0]);
    return Value::none();
  }));
  return c;
}

Value g_joiner(Interpreter&, CallArgs& a) {
  std::string sep = str_arg(a, 0, "sep", ", ");
  auto used = std::make_shared<bool>(false);
  return Value::function("joiner", [sep, used](Interpreter&, CallArgs&) {
    if (!*used) {
      *used = true;
      return Value("");
    }
    return Value(sep);
  });
}

}  // namespace

void install_globals(Scope& scope) {
  scope.vars["range"] = Value::function("range", g_range);
  scope.vars["namespace"] = Value::function("namespace", g_namespace);
  scope.vars["dict"] = Value::function("dict", g_dict);
  scope.vars["raise_exception"] = Value::function("raise_exception", g_raise);
  scope.vars["strftime_now"] = Value::function("strftime_now", g_strftime_now);
  scope.vars["cycler"] = Value::function("cycler", g_cycler);
  scope.vars["joiner"] = Value::function("joiner", g_joiner);
}

}  // namespace kestrel::jinja
