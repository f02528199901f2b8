// Expression parsing (see jinja_parser.cpp for the precedence table):
// conditionals, boolean and comparison chains, arithmetic, unary operators,
// primaries and their postfix `.x` / `[i]` / `(args)`, filters and tests.
#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_parser_impl.h"

namespace kestrel::jinja {

// A bare comma list is a tuple: {{ a, b }}, {% set x = 1, 2 %}.
ExprPtr Parser::parse_tuple(bool no_cond) {
  Token at = cur();
  ExprPtr first = parse_expression(!no_cond);
  if (!is_op(",")) return first;
  ExprPtr t = node(EK::Tuple, at);
  add(t, std::move(first));
  while (accept_op(",")) {
    if (ends_tuple()) break;
    add(t, parse_expression(!no_cond));
  }
  return t;
}

ExprPtr Parser::parse_expression(bool with_cond) {
  Nest nest(*this);
  if (!with_cond) return parse_or();
  Token at = cur();
  ExprPtr e = parse_or();
  while (accept_name("if")) {
    ExprPtr c = node(EK::Cond, at);
    ExprPtr cond = parse_or();
    ExprPtr other;
    if (accept_name("else")) other = parse_expression(true);
    add(c, std::move(cond));
    add(c, std::move(e));
    add(c, std::move(other));
    e = std::move(c);
  }
  return e;
}

ExprPtr Parser::parse_or() {
  ExprPtr l = parse_and();
  while (is_name("or")) {
    Token at = cur();
    advance();
    l = binary("or", std::move(l), parse_and(), at);
  }
  return l;
}

ExprPtr Parser::parse_and() {
  ExprPtr l = parse_not();
  while (is_name("and")) {
    Token at = cur();
    advance();
    l = binary("and", std::move(l), parse_not(), at);
  }
  return l;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    Nest nest(*this);
    Token at = cur();
    advance();
    ExprPtr n = node(EK::Unary, at);
    n->name = "not";
    add(n, parse_not());
    return n;
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  Token at = cur();
  ExprPtr first = parse_math1();
  ExprPtr cmp;
  while (true) {
    std::string op;
    if (cur().type == Tok::Op &&
        (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" || cur().text == ">" ||
         cur().text == ">=")) {
      op = cur().text;
      advance();
    } else if (is_name("in")) {
      op = "in";
      advance();
    } else if (is_name("not") && next_tok().type == Tok::Name && next_tok().text == "in") {
      op = "notin";
      advance();
      advance();
    } else {
      break;
    }
    if (!cmp) {
      cmp = node(EK::Compare, at);
      add(cmp, std::move(first));
    }
    cmp->ops.push_back(op);
    add(cmp, parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(first);
}

ExprPtr Parser::parse_math1() {
  ExprPtr l = parse_concat();
  while (is_op("+") || is_op("-")) {
    Token at = cur();
    advance();
    l = binary(at.text == "+" ? "+" : "-", std::move(l), parse_concat(), at);
  }
  return l;
}

ExprPtr Parser::parse_concat() {
  Token at = cur();
  ExprPtr first = parse_math2();
  if (!is_op("~")) return first;
  ExprPtr c = node(EK::Concat, at);
  add(c, std::move(first));
  while (accept_op("~")) add(c, parse_math2());
  return c;
}

ExprPtr Parser::parse_math2() {
  ExprPtr l = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    Token at = cur();
    advance();
    const char* op = at.text == "*" ? "*" : at.text == "/" ? "/" : at.text == "//" ? "//" : "%";
    l = binary(op, std::move(l), parse_pow(), at);
  }
  return l;
}

ExprPtr Parser::parse_pow() {
  ExprPtr l = parse_unary(true);
  while (is_op("**")) {
    Token at = cur();
    advance();
    l = binary("**", std::move(l), parse_unary(true), at);
  }
  return l;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  Nest nest(*this);
  ExprPtr n;
  if (is_op("-") || is_op("+")) {
    Token at = cur();
    advance();
    n = node(EK::Unary, at);
    n->name = at.text;
    add(n, parse_unary(false));
  } else {
    n = parse_primary();
  }
  n = parse_postfix(std::move(n));
  if (with_filter) n = parse_filter_tail(std::move(n));
  return n;
}

ExprPtr Parser::parse_primary() {
  const Token tok = cur();
  switch (tok.type) {
    case Tok::Name: {
      advance();
      const std::string& n = tok.text;
      ExprPtr e = node(EK::Const, tok);
      if (n == "true" || n == "True") e->value = Value(true);
      else if (n == "false" || n == "False") e->value = Value(false);
      else if (n == "none" || n == "None") e->value = Value::none();
      else {
        e->kind = EK::Name;
        e->name = n;
      }
      return e;
    }
    case Tok::String: {
      // Adjacent literals concatenate, as in Python.
      std::string s;
      while (cur().type == Tok::String) {
        s += cur().text;
        advance();
      }
      ExprPtr e = node(EK::Const, tok);
      e->value = Value(std::move(s));
      return e;
    }
    case Tok::Int:
    case Tok::Float: {
      advance();
      ExprPtr e = node(EK::Const, tok);
      e->value = tok.type == Tok::Int ? Value(tok.ival) : Value(tok.fval);
      return e;
    }
    case Tok::Op:
      if (tok.text == "(") {
        advance();
        if (accept_op(")")) return node(EK::Tuple, tok);
        ExprPtr e = parse_expression(true);
        if (is_op(",")) {
          ExprPtr t = node(EK::Tuple, tok);
          add(t, std::move(e));
          while (accept_op(",")) {
            if (is_op(")")) break;
            add(t, parse_expression(true));
          }
          e = std::move(t);
        }
        expect_op(")");
        return e;
      }
      if (tok.text == "[") {
        advance();
        ExprPtr l = node(EK::List, tok);
        while (!is_op("]")) {
          if (!l->args.empty()) expect_op(",");
          if (is_op("]")) break;
          add(l, parse_expression(true));
        }
        expect_op("]");
        return l;
      }
      if (tok.text == "{") {
        advance();
        ExprPtr d = node(EK::Dict, tok);
        while (!is_op("}")) {
          if (!d->args.empty()) expect_op(",");
          if (is_op("}")) break;
          add(d, parse_expression(true));
          expect_op(":");
          add(d, parse_expression(true));
        }
        expect_op("}");
        return d;
      }
      break;
    default: break;
  }
  fail_at(tok, "unexpected " + describe(tok));
}

ExprPtr Parser::parse_postfix(ExprPtr n) {
  while (true) {
    if (is_op(".")) {
      Token at = cur();
      advance();
      if (cur().type == Tok::Int) {
        ExprPtr i = node(EK::Item, at);
        ExprPtr k = node(EK::Const, cur());
        k->value = Value(cur().ival);
        advance();
        add(i, std::move(n));
        add(i, std::move(k));
        n = std::move(i);
        continue;
      }
      ExprPtr a = node(EK::Attr, at);
      a->name = expect_name();
      add(a, std::move(n));
      n = std::move(a);
    } else if (is_op("[")) {
      n = parse_subscript(std::move(n));
    } else if (is_op("(")) {
      n = parse_call(std::move(n));
    } else {
      return n;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr obj) {
  Token at = cur();
  expect_op("[");
  ExprPtr parts[3];
  bool slice = false;
  for (int i = 0; i < 3; ++i) {
    if (!is_op(":") && !is_op("]")) parts[i] = parse_expression(true);
    if (i < 2 && accept_op(":")) {
      slice = true;
      continue;
    }
    break;
  }
  if (!slice && is_op(",")) {
    // x[a, b] indexes with a tuple.
    ExprPtr t = node(EK::Tuple, at);
    add(t, std::move(parts[0]));
    while (accept_op(",")) {
      if (is_op("]")) break;
      add(t, parse_expression(true));
    }
    parts[0] = std::move(t);
  }
  expect_op("]");
  if (!slice && !parts[0]) fail_at(at, "expected an index in []");
  ExprPtr e = node(slice ? EK::Slice : EK::Item, at);
  add(e, std::move(obj));
  add(e, std::move(parts[0]));
  if (slice) {
    add(e, std::move(parts[1]));
    add(e, std::move(parts[2]));
  }
  return e;
}

void Parser::parse_call_args(ExprPtr& e) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (is_op(")")) break;
    if (cur().type == Tok::Name && next_tok().type == Tok::Op && next_tok().text == "=") {
      std::string name = cur().text;
      advance();
      advance();
      add_kw(e, std::move(name), parse_expression(true));
    } else {
      if (!e->kwargs.empty()) fail_at(cur(), "positional argument follows keyword argument");
      add(e, parse_expression(true));
    }
  }
  expect_op(")");
}

ExprPtr Parser::parse_call(ExprPtr callee) {
  ExprPtr c = node(EK::Call, cur());
  add(c, std::move(callee));
  parse_call_args(c);
  return c;
}

ExprPtr Parser::parse_filter_tail(ExprPtr n) {
  while (true) {
    if (is_op("|")) {
      n = parse_filters(std::move(n));
    } else if (is_name("is")) {
      n = parse_test(std::move(n));
    } else if (is_op("(")) {
      n = parse_call(std::move(n));
    } else {
      return n;
    }
  }
}

// One or more `| name(args)`; `operand` null starts a filter block's chain.
ExprPtr Parser::parse_filters(ExprPtr operand, bool leading_pipe) {
  bool first = true;
  while (first ? (!leading_pipe || is_op("|")) : is_op("|")) {
    if (leading_pipe || !first) expect_op("|");
    first = false;
    Token at = cur();
    std::string name = expect_name();
    while (accept_op(".")) {
      name += '.';
      name += expect_name();
    }
    if (!has_filter(name)) fail_at(at, "no filter named '" + name + "'");
    ExprPtr f = node(EK::Filter, at);
    f->name = name;
    if (operand) add(f, std::move(operand));
    else f->args.push_back(nullptr);
    if (is_op("(")) parse_call_args(f);
    operand = std::move(f);
  }
  return operand;
}

ExprPtr Parser::parse_test(ExprPtr operand) {
  Token at = cur();
  advance();  // is
  ExprPtr t = node(EK::Test, at);
  t->negated = accept_name("not");
  Token name_tok = cur();
  t->name = expect_name();
  while (accept_op(".")) {
    t->name += '.';
    t->name += expect_name();
  }
  if (!has_test(t->name)) fail_at(name_tok, "no test named '" + t->name + "'");
  add(t, std::move(operand));
  if (is_op("(")) {
    parse_call_args(t);
  } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
              cur().type == Tok::Float || is_op("[") || is_op("{")) &&
             !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if")) {
    if (is_name("is")) fail_at(cur(), "you cannot chain multiple tests with is");
    // `x is divisibleby 3`: a single argument without parentheses.
    add(t, parse_postfix(parse_primary()));
  }
  return t;
}

}  // namespace kestrel::jinja
