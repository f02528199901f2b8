// Internal to the parser (jinja_parser.cpp: statements,
// jinja_parser_expr.cpp: expressions): the recursive-descent Parser class,
// with its token cursor and node-building helpers inline here.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "chat/jinja/jinja_lexer.h"
#include "chat/jinja/jinja_parser.h"

namespace kestrel::jinja {

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Body run();

 private:
  std::vector<Token> t_;
  size_t p_ = 0;
  int nesting_ = 0;

  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.nesting_ > kMaxNesting) p.fail_at(p.cur(), "template nested too deeply");
    }
    ~Nest() { --p.nesting_; }
  };

  const Token& cur() const { return t_[p_]; }
  const Token& next_tok() const { return t_[std::min(p_ + 1, t_.size() - 1)]; }
  void advance() {
    if (p_ + 1 < t_.size()) ++p_;
  }

  [[noreturn]] void fail_at(const Token& tok, const std::string& msg) const {
    std::string what = "line ";
    what += std::to_string(tok.line);
    what += ", column ";
    what += std::to_string(tok.col);
    what += ": ";
    what += msg;
    throw TemplateError(what, tok.line, tok.col);
  }

  std::string describe(const Token& tok) const {
    switch (tok.type) {
      case Tok::Name:
      case Tok::Op: return "'" + tok.text + "'";
      case Tok::String: return "string";
      case Tok::Int:
      case Tok::Float: return "number";
      default: return token_name(tok.type);
    }
  }

  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool accept_name(const char* n) {
    if (!is_name(n)) return false;
    advance();
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail_at(cur(), std::string("expected '") + op + "', got " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) fail_at(cur(), "expected a name, got " + describe(cur()));
    std::string n = cur().text;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) fail_at(cur(), "expected end of statement block, got " + describe(cur()));
    advance();
  }

  ExprPtr node(EK kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->col = at.col;
    return e;
  }
  // Depth is recomputed as children are attached; chains such as a ~ b ~ c
  // or x|f|g|h grow it too, so a long chain is as bounded as deep brackets.
  ExprPtr& add(ExprPtr& parent, ExprPtr child) {
    if (child) parent->depth = std::max(parent->depth, child->depth + 1);
    if (parent->depth > kMaxNesting) fail_at(cur(), "expression nested too deeply");
    parent->args.push_back(std::move(child));
    return parent;
  }
  void add_kw(ExprPtr& parent, std::string name, ExprPtr child) {
    parent->depth = std::max(parent->depth, child->depth + 1);
    if (parent->depth > kMaxNesting) fail_at(cur(), "expression nested too deeply");
    parent->kwargs.emplace_back(std::move(name), std::move(child));
  }

  // ---- statements ----

  std::string parse_body(Body& body, std::initializer_list<const char*> ends);

  StmtPtr stmt(SK kind, const Token& at);

  std::string body_until(Body& body, std::initializer_list<const char*> ends, const Token& opener);

  StmtPtr parse_statement();

  StmtPtr parse_if(const Token& tok);

  void parse_targets(Stmt& s);

  StmtPtr parse_for(const Token& tok);

  StmtPtr parse_set(const Token& tok);

  void parse_params(Stmt& s);

  StmtPtr parse_macro(const Token& tok);

  StmtPtr parse_call_block(const Token& tok);

  StmtPtr parse_filter_block(const Token& tok);

  StmtPtr parse_with(const Token& tok);

  // ---- expressions ----

  ExprPtr parse_tuple(bool no_cond);

  bool ends_tuple() const {
    const Token& c = cur();
    if (c.type == Tok::VarEnd || c.type == Tok::BlockEnd || c.type == Tok::Eof) return true;
    if (c.type == Tok::Op && (c.text == ")" || c.text == "]" || c.text == "}")) return true;
    return c.type == Tok::Name && (c.text == "if" || c.text == "in");
  }

  ExprPtr parse_expression(bool with_cond = true);

  ExprPtr binary(const char* op, ExprPtr l, ExprPtr r, const Token& at) {
    ExprPtr b = node(EK::Binary, at);
    b->name = op;
    add(b, std::move(l));
    add(b, std::move(r));
    return b;
  }

  ExprPtr parse_or();

  ExprPtr parse_and();

  ExprPtr parse_not();

  ExprPtr parse_compare();

  ExprPtr parse_math1();

  ExprPtr parse_concat();

  ExprPtr parse_math2();

  ExprPtr parse_pow();

  ExprPtr parse_unary(bool with_filter);

  ExprPtr parse_primary();

  ExprPtr parse_postfix(ExprPtr n);

  ExprPtr parse_subscript(ExprPtr obj);

  void parse_call_args(ExprPtr& e);

  ExprPtr parse_call(ExprPtr callee);

  ExprPtr parse_filter_tail(ExprPtr n);

  ExprPtr parse_filters(ExprPtr operand, bool leading_pipe = true);

  ExprPtr parse_test(ExprPtr operand);

};

}  // namespace kestrel::jinja
