// The syntax tree the parser builds and the interpreter walks.
//
// One node struct per family (expressions, statements) with a kind tag
// rather than a class hierarchy: the evaluator is a switch, and a node's
// children live in `args` so that destruction and depth accounting are
// uniform. Every node records its source line and column for error messages,
// and expressions their depth, which the parser caps so that neither the
// evaluator's recursion nor the tree's destruction can exhaust the stack.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/jinja_value.h"

namespace kestrel::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class EK {
  Const,    // value
  Name,     // name
  List,     // args: items
  Tuple,    // args: items
  Dict,     // args: key, value, key, value...
  Attr,     // args[0].name
  Item,     // args[0][args[1]]
  Slice,    // args[0][args[1]:args[2]:args[3]], any bound may be null
  Call,     // args[0](args[1:], kwargs)
  Filter,   // args[0] | name(args[1:], kwargs); args[0] null in a filter block
  Test,     // args[0] is [not] name(args[1:])
  Unary,    // name ("-", "+", "not") args[0]
  Binary,   // args[0] name args[1]: + - * / // % ** and or
  Compare,  // args[0] ops[0] args[1] ops[1] args[2]...
  Concat,   // args joined by ~
  Cond,     // args[1] if args[0] else args[2] (args[2] may be null)
};

struct Expr {
  EK kind;
  int line = 0, col = 0;
  int depth = 1;
  Value value;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

enum class SK {
  Text,         // text
  Output,       // {{ expr }}
  If,           // branches (cond, body)...; else_body
  For,          // targets in expr [if cond]: body; else_body
  Set,          // targets (or ns_name.attr) = expr
  SetBlock,     // {% set targets[0] %}body{% endset %}
  Macro,        // name(params): body
  CallBlock,    // {% call(params) expr %}body{% endcall %}
  FilterBlock,  // {% filter expr %}body{% endfilter %}
  With,         // params (assignments): body
  Scope,        // body rendered as is (generation blocks)
  Break,
  Continue,
  Do,           // expr evaluated, result dropped
};

struct Stmt {
  SK kind;
  int line = 0, col = 0;
  std::string text;
  ExprPtr expr, cond;
  std::vector<std::string> targets;
  std::string attr;  // Set: `set targets[0].attr = ...`
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // name and default (may be null)
};

}  // namespace kestrel::jinja
