// The interpreter's runtime value: what a Jinja expression evaluates to.
//
// Python semantics drive the design. Lists and dicts are reference types
// (shared storage, so `ns.items.append(x)` is seen through every name bound
// to the list), dicts keep insertion order, integers and floats stay
// distinct, and Undefined is its own kind (falsy, renders empty, carries a
// hint for the error message when it is used where a value is required).
// Namespaces (namespace(), the `loop` object) are attribute bags; functions
// (macros, globals, bound methods) are one callable kind.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"

namespace kestrel::jinja {

class Interpreter;
class Value;

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

// Containers nest at most this deep: destroying a value recurses once per
// level, so a list wrapped in itself 10^5 times in a loop must be refused
// when it is built, not overflow the stack when it is freed.
constexpr uint32_t kMaxValueDepth = 512;

struct ListData {
  std::vector<Value> items;
  bool tuple = false;  // only changes how it prints: (a, b) rather than [a, b]
  uint32_t depth = 1;  // 1 + the deepest container inside
  void push(Value v);  // append, keeping `depth` (throws past kMaxValueDepth)
};

// Insertion-ordered map. Keys are Values (Python allows int keys); the index
// maps a key's identity string (see key_id) to its position.
struct DictData {
  std::vector<std::pair<Value, Value>> items;
  std::unordered_map<std::string, size_t> index;
  uint32_t depth = 1;

  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void set(const Value& key, Value v);
  bool erase(const Value& key);
};

struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

struct Function {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b) : kind_(Kind::Bool), i_(b) {}
  Value(int v) : kind_(Kind::Int), i_(v) {}
  Value(int64_t v) : kind_(Kind::Int), i_(v) {}
  Value(double v) : kind_(Kind::Float), f_(v) {}
  Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
  Value(std::string_view s) : kind_(Kind::String), s_(s) {}
  Value(const char* s) : kind_(Kind::String), s_(s) {}
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict();
  static Value ns();  // an empty namespace
  static Value function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_function() const { return kind_ == Kind::Function; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return i_; }  // Int and Bool
  double as_double() const { return kind_ == Kind::Float ? f_ : static_cast<double>(i_); }
  const std::string& str() const { return s_; }  // String; for Undefined, its hint
  std::string& str() { return s_; }
  ListData& list_data() const { return *list_; }
  DictData& dict_data() const { return *dict_; }  // Dict and Namespace
  const std::shared_ptr<DictData>& dict_ptr() const { return dict_; }
  const Function& func() const { return *fn_; }
  const void* identity() const;
  uint32_t depth() const;  // container nesting: 0 for scalars  // storage address, for `is sameas` and cycle checks

  bool truthy() const;
  const char* type_name() const;  // Python's name: 'str', 'dict', ...

 private:
  Kind kind_ = Kind::Undefined;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<Function> fn_;
};

// An identity string for dict keys: equal Python keys (1, 1.0, True) share one.
std::string key_id(const Value& key);

// Python ==, and <-style ordering (throws TemplateError for unorderable types).
bool equals(const Value& a, const Value& b, int depth = 0);
int compare(const Value& a, const Value& b);

// Python str() and repr(). str of Undefined is empty.
std::string to_str(const Value& v);
std::string to_repr(const Value& v);
std::string float_repr(double d);

// Python json.dumps with HF's tojson defaults (ensure_ascii off).
struct JsonFormat {
  int indent = -1;  // -1: no newlines
  std::string indent_str;
  std::string item_sep = ", ", key_sep = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonFormat& fmt);

// The error every internal helper throws; the interpreter adds the position.
[[noreturn]] void fail(const std::string& msg);
// Undefined used where a value is needed (arithmetic, calls, attributes).
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace kestrel::jinja
