// The tree-walking interpreter: scopes, output, limits, and the entry points
// the builtins (filters, tests, methods, globals) are reached through.
//
// Scoping follows Jinja2: `if` shares its scope, each for-loop iteration,
// macro call and `with` block gets a fresh child scope (so a `set` inside a
// loop does not leak out; namespace() objects are how templates carry state
// across iterations). Limits are enforced here: output size, loop
// iterations, macro recursion, a work budget on string building, and a cap
// on evaluation depth so a recursive macro cannot overflow the C++ stack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/jinja/jinja_ast.h"

// Keeps a function out of its caller's frame (see jinja_eval.cpp).
#define KJ_NOINLINE __attribute__((noinline))

namespace kestrel::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
};

class Interpreter {
 public:
  Interpreter(const RenderOptions& opts, std::shared_ptr<Scope> globals);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  std::string render(const Body& body);

  // Builtins call back into these.
  Value call(const Value& fn, CallArgs& args);
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  std::vector<Value> iterate(const Value& v);
  Value filter(const std::string& name, const Value& v, CallArgs& args);
  bool test(const std::string& name, const Value& v, CallArgs& args);
  // Every string built from template data is accounted here.
  void charge(size_t bytes);
  void count_iteration();
  void count_call();
  // Records that `inserted` was stored into `container` by a mutation, so
  // that cycles can be broken when the render ends.
  void track(const Value& container, const Value& inserted);
  const RenderOptions& options() const { return opts_; }

 private:
  friend struct ExecFrame;
  const RenderOptions& opts_;
  std::shared_ptr<Scope> scope_;
  std::string* out_ = nullptr;
  unsigned long long work_ = 0;
  long long iterations_ = 0;
  int depth_ = 0, macro_depth_ = 0;
  uintptr_t stack_base_ = 0;
  std::vector<Value> mutated_;
  int line_ = 0, col_ = 0;  // of the node being evaluated, for error messages
  enum class Flow { Normal, Break, Continue } flow_ = Flow::Normal;

  void exec(const Body& body);
  void exec_stmt(const Stmt& s);
  void exec_for(const Stmt& s);
  void exec_set(const Stmt& s);
  void exec_output(const Stmt& s);
  void exec_set_block(const Stmt& s);
  void exec_call_block(const Stmt& s);
  void exec_filter_block(const Stmt& s);
  void exec_with(const Stmt& s);
  Value make_macro(const Stmt& s, const Body& body, const std::vector<std::pair<std::string, ExprPtr>>& params,
                   const std::string& name);
  std::string capture(const Body& body);
  void emit(std::string_view s);
  void assign(const std::vector<std::string>& targets, const Value& v);

  Value eval(const Expr& e);
  Value eval_name(const Expr& e);
  Value eval_literal(const Expr& e);
  Value eval_item(const Expr& e);
  Value eval_filter(const Expr& e);
  Value eval_test(const Expr& e);
  Value eval_unary(const Expr& e);
  Value eval_concat(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_slice(const Expr& e);
  void eval_args(const Expr& e, size_t first, CallArgs& out);
  void enter(int line, int col);
  void leave() { --depth_; }
};

// Builtin registries (jinja_filters.cpp, jinja_tests.cpp, jinja_methods.cpp,
// jinja_globals.cpp).
bool has_filter(std::string_view name);
bool has_test(std::string_view name);
Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& args);
// A bound method of a str, list or dict (`s.strip`), or Undefined if there is none.
bool has_method(const Value& obj, const std::string& name);
Value call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& args);
void install_globals(Scope& scope);

// Python operators shared by the evaluator and the builtins.
Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);

// Argument access for builtins: by position or keyword, with a default.
const Value* arg(const CallArgs& a, size_t pos, std::string_view name);
Value arg_or(const CallArgs& a, size_t pos, std::string_view name, Value def);
int64_t int_arg(const CallArgs& a, size_t pos, std::string_view name, int64_t def);
std::string str_arg(const CallArgs& a, size_t pos, std::string_view name, std::string def);

}  // namespace kestrel::jinja
