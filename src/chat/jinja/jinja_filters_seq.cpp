// Sequence and mapping filters: length/count, first, last, join, list,
// items/keys/values, unique, sort, dictsort, map, select/reject,
// selectattr/rejectattr, batch, sum, min, max, reverse. Jinja2 returns
// generators from map/select; here they are lists, which render the same
// through list/join/first and also allow |length.
#include <algorithm>

#include "chat/jinja/jinja_builtins.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return 0;
    case Kind::String: return static_cast<int64_t>(utf8_length(v.str()));
    case Kind::List: return static_cast<int64_t>(v.list_data().items.size());
    case Kind::Dict:
    case Kind::Namespace: return static_cast<int64_t>(v.dict_data().items.size());
    default: fail(std::string("object of type '") + v.type_name() + "' has no len()");
  }
}

Value f_length(Interpreter&, const Value& v, CallArgs&) { return Value(length_of(v)); }

Value f_first(Interpreter& in, const Value& v, CallArgs&) {
  std::vector<Value> items = in.iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter& in, const Value& v, CallArgs&) {
  std::vector<Value> items = in.iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_join(Interpreter& in, const Value& v, CallArgs& a) {
  std::string sep = str_arg(a, 0, "d", "");
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  std::string out;
  bool first = true;
  for (const Value& item : in.iterate(v)) {
    if (!first) out += sep;
    first = false;
    Value x = attribute.is_none() ? item : get_path(in, item, attribute);
    out += x.is_string() ? x.str() : to_str(x);
    in.charge(out.size());
  }
  return Value(std::move(out));
}

Value f_list(Interpreter& in, const Value& v, CallArgs&) { return Value::list(in.iterate(v)); }

Value f_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict_data().items) out.push_back(Value::list({k, val}, true));
  return Value::list(std::move(out));
}

Value f_keys(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) fail("keys: a mapping is required");
  std::vector<Value> out;
  for (const auto& kv : v.dict_data().items) out.push_back(kv.first);
  return Value::list(std::move(out));
}

Value f_values(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) fail("values: a mapping is required");
  std::vector<Value> out;
  for (const auto& kv : v.dict_data().items) out.push_back(kv.second);
  return Value::list(std::move(out));
}

// case_sensitive=False (the default) compares strings lowercased.
Value sort_key(Interpreter& in, const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = attribute.is_none() ? item : get_path(in, item, attribute);
  if (!case_sensitive && k.is_string()) return Value(py_lower(k.str()));
  return k;
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& a) {
  bool cs = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  std::vector<Value> out, seen;
  for (const Value& item : in.iterate(v)) {
    Value k = sort_key(in, item, attribute, cs);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_sort(Interpreter& in, const Value& v, CallArgs& a) {
  bool reverse = arg_or(a, 0, "reverse", Value(false)).truthy();
  bool cs = arg_or(a, 1, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 2, "attribute", Value::none());
  std::vector<Value> items = in.iterate(v);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(sort_key(in, items[i], attribute, cs), i);
  // compare() may throw (unorderable types); stable_sort copes with that.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    int c = compare(x.first, y.first);
    return reverse ? c > 0 : c < 0;
  });
  std::vector<Value> out;
  for (const auto& kv : keyed) out.push_back(items[kv.second]);
  return Value::list(std::move(out));
}

Value f_dictsort(Interpreter& in, const Value& v, CallArgs& a) {
  bool cs = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  std::string by = str_arg(a, 1, "by", "key");
  bool reverse = arg_or(a, 2, "reverse", Value(false)).truthy();
  if (!v.is_dict()) fail("You can only sort by either \"key\" or \"value\" of a mapping");
  if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict_data().items) pairs.push_back(Value::list({k, val}, true));
  size_t pos = by == "key" ? 0 : 1;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    int c = compare(sort_key(in, x.list_data().items[pos], Value::none(), cs),
                    sort_key(in, y.list_data().items[pos], Value::none(), cs));
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(pairs));
}

// The rest of the arguments after `skip` positional ones, as a new CallArgs.
CallArgs rest(const CallArgs& a, size_t skip) {
  CallArgs r;
  for (size_t i = skip; i < a.pos.size(); ++i) r.pos.push_back(a.pos[i]);
  return r;
}

Value f_map(Interpreter& in, const Value& v, CallArgs& a) {
  std::vector<Value> out;
  const Value* attribute = arg(a, a.pos.size(), "attribute");
  if (attribute) {
    Value def = arg_or(a, a.pos.size(), "default", Value());
    for (const Value& item : in.iterate(v)) {
      Value x = get_path(in, item, *attribute);
      out.push_back(x.is_undefined() && !def.is_undefined() ? def : x);
    }
    return Value::list(std::move(out));
  }
  if (a.pos.empty()) fail("map requires a filter argument");
  std::string name = to_str(a.pos[0]);
  if (!has_filter(name)) fail("no filter named '" + name + "'");
  CallArgs fa = rest(a, 1);
  fa.kw = a.kw;
  for (const Value& item : in.iterate(v)) {
    CallArgs copy = fa;
    out.push_back(in.filter(name, item, copy));
  }
  return Value::list(std::move(out));
}

// select/reject(test, args...) and selectattr/rejectattr(attr, test, args...).
Value select_impl(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool want) {
  size_t p = 0;
  Value attribute;
  if (by_attr) {
    if (a.pos.empty()) fail("selectattr/rejectattr need an attribute");
    attribute = a.pos[p++];
  }
  std::string test;
  if (p < a.pos.size()) {
    test = to_str(a.pos[p++]);
    if (!has_test(test)) fail("no test named '" + test + "'");
  }
  CallArgs ta = rest(a, p);
  std::vector<Value> out;
  for (const Value& item : in.iterate(v)) {
    Value x = by_attr ? get_path(in, item, attribute) : item;
    bool ok;
    if (test.empty()) {
      ok = x.truthy();
    } else {
      CallArgs copy = ta;
      ok = in.test(test, x, copy);
    }
    if (ok == want) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, false); }

Value f_batch(Interpreter& in, const Value& v, CallArgs& a) {
  int64_t count = int_arg(a, 0, "linecount", 1);
  const Value* fill = arg(a, 1, "fill_with");
  std::vector<Value> out, cur;
  // Jinja2's order: a full batch is emitted before the next item is added,
  // so batch(0) yields one empty batch first.
  for (const Value& item : in.iterate(v)) {
    if (static_cast<int64_t>(cur.size()) == count) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
    cur.push_back(item);
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none() && count > in.options().max_loop_iterations) fail("batch: linecount too large to fill");
    if (fill && !fill->is_none())
      while (static_cast<int64_t>(cur.size()) < count) cur.push_back(*fill);
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::list(std::move(out));
}

Value f_sum(Interpreter& in, const Value& v, CallArgs& a) {
  Value attribute = arg_or(a, 0, "attribute", Value::none());
  Value total = arg_or(a, 1, "start", Value(0));
  for (const Value& item : in.iterate(v))
    total = binary_op(in, "+", total, attribute.is_none() ? item : get_path(in, item, attribute));
  return total;
}

Value min_max(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  bool cs = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  std::vector<Value> items = in.iterate(v);
  if (items.empty()) return Value::undefined(want_max ? "No largest item, sequence was empty." : "No smallest item, sequence was empty.");
  size_t best = 0;
  Value best_key = sort_key(in, items[0], attribute, cs);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = sort_key(in, items[i], attribute, cs);
    int c = compare(k, best_key);
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Value f_min(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, false); }
Value f_max(Interpreter& in, const Value& v, CallArgs& a) { return min_max(in, v, a, true); }

Value f_reverse(Interpreter& in, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::vector<uint32_t> cps = utf8_decode(v.str());
    std::reverse(cps.begin(), cps.end());
    return Value(utf8_encode(cps, 0, cps.size()));
  }
  std::vector<Value> items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

}  // namespace

Value get_path(Interpreter& in, const Value& v, const Value& attribute) {
  if (attribute.is_int()) return in.get_item(v, attribute);
  Value cur = v;
  std::string path = to_str(attribute);
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && part.size() < 18) cur = in.get_item(cur, Value(static_cast<int64_t>(std::stoll(part))));
    else cur = in.get_item(cur, Value(part));
    if (dot == std::string::npos) return cur;
    if (cur.is_undefined()) return cur;
    start = dot + 1;
  }
}

const std::vector<std::pair<const char*, FilterFn>>& sequence_filters() {
  static const std::vector<std::pair<const char*, FilterFn>> t = {
      {"length", f_length},   {"count", f_length},         {"first", f_first},         {"last", f_last},
      {"join", f_join},       {"list", f_list},            {"items", f_items},         {"keys", f_keys},
      {"values", f_values},   {"unique", f_unique},        {"sort", f_sort},           {"dictsort", f_dictsort},
      {"map", f_map},         {"select", f_select},        {"reject", f_reject},       {"selectattr", f_selectattr},
      {"rejectattr", f_rejectattr}, {"batch", f_batch},    {"sum", f_sum},             {"min", f_min},
      {"max", f_max},         {"reverse", f_reverse},
  };
  return t;
}

}  // namespace kestrel::jinja
