// The recursive-descent parser (see jinja_parser.h). Precedence, loosest
// first, as in Jinja2: conditional, or, and, not, comparisons (chained),
// + -, ~, * / // %, **, unary - +, then primaries with postfix `.x`, `[i]`,
// `(args)`, and the filter/test tail `| f` / `is t`.
#include "chat/jinja/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_lexer.h"

namespace kestrel::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Body run() {
    Body body;
    std::string end = parse_body(body, {});
    if (!end.empty()) fail_at(cur(), "unexpected '" + end + "'");
    return body;
  }

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

  // Parses until a block tag named in `ends` (left unconsumed, its name
  // returned) or the end of the template ("" returned).
  std::string parse_body(Body& body, std::initializer_list<const char*> ends) {
    Nest nest(*this);
    while (true) {
      const Token& tok = cur();
      switch (tok.type) {
        case Tok::Eof: return "";
        case Tok::Text: {
          auto s = stmt(SK::Text, tok);
          s->text = tok.text;
          body.push_back(std::move(s));
          advance();
          break;
        }
        case Tok::VarBegin: {
          auto s = stmt(SK::Output, tok);
          advance();
          s->expr = parse_tuple(false);
          if (cur().type != Tok::VarEnd) fail_at(cur(), "expected end of print statement, got " + describe(cur()));
          advance();
          body.push_back(std::move(s));
          break;
        }
        case Tok::BlockBegin: {
          const Token& name = next_tok();
          if (name.type != Tok::Name) fail_at(name, "expected a statement name, got " + describe(name));
          for (const char* e : ends)
            if (name.text == e) return name.text;
          advance();
          body.push_back(parse_statement());
          break;
        }
        default: fail_at(tok, "unexpected " + describe(tok));
      }
    }
  }

  StmtPtr stmt(SK kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->col = at.col;
    return s;
  }

  // Parses a body up to one of `ends`, failing at the end of the template
  // with the name of the statement still open.
  std::string body_until(Body& body, std::initializer_list<const char*> ends, const Token& opener) {
    std::string end = parse_body(body, ends);
    if (end.empty()) {
      std::string msg = "unexpected end of template: the '";
      msg += opener.text;
      msg += "' opened on line ";
      msg += std::to_string(opener.line);
      msg += " needs '";
      msg += *ends.begin();
      msg += "'";
      fail_at(cur(), msg);
    }
    advance();  // {%
    advance();  // the end tag's name
    return end;
  }

  StmtPtr parse_statement() {
    Token tok = cur();
    const std::string& n = tok.text;
    advance();
    if (n == "if") return parse_if(tok);
    if (n == "for") return parse_for(tok);
    if (n == "set") return parse_set(tok);
    if (n == "macro") return parse_macro(tok);
    if (n == "call") return parse_call_block(tok);
    if (n == "filter") return parse_filter_block(tok);
    if (n == "with") return parse_with(tok);
    if (n == "generation") {
      auto s = stmt(SK::Scope, tok);
      expect_block_end();
      body_until(s->body, {"endgeneration"}, tok);
      expect_block_end();
      return s;
    }
    if (n == "break" || n == "continue") {
      auto s = stmt(n == "break" ? SK::Break : SK::Continue, tok);
      expect_block_end();
      return s;
    }
    if (n == "do") {
      auto s = stmt(SK::Do, tok);
      s->expr = parse_tuple(false);
      expect_block_end();
      return s;
    }
    static const char* const stray[] = {"endif", "endfor", "elif", "else", "endmacro", "endset", "endcall",
                                        "endfilter", "endwith", "endgeneration", "endraw"};
    for (const char* e : stray)
      if (n == e) fail_at(tok, "unexpected '" + n + "' (no open block it could close)");
    if (n == "include" || n == "import" || n == "from" || n == "extends" || n == "block")
      fail_at(tok, "the '" + n + "' tag is not supported (templates are self-contained)");
    fail_at(tok, "unknown tag '" + n + "'");
  }

  StmtPtr parse_if(const Token& tok) {
    auto s = stmt(SK::If, tok);
    ExprPtr cond = parse_tuple(false);
    expect_block_end();
    while (true) {
      Body body;
      std::string end = body_until(body, {"endif", "elif", "else"}, tok);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (end == "elif") {
        cond = parse_tuple(false);
        expect_block_end();
        continue;
      }
      if (end == "else") {
        expect_block_end();
        body_until(s->else_body, {"endif"}, tok);
      }
      expect_block_end();
      return s;
    }
  }

  void parse_targets(Stmt& s) {
    s.targets.push_back(expect_name());
    while (accept_op(",")) {
      if (cur().type != Tok::Name) break;
      s.targets.push_back(expect_name());
    }
  }

  StmtPtr parse_for(const Token& tok) {
    auto s = stmt(SK::For, tok);
    if (accept_op("(")) {
      parse_targets(*s);
      expect_op(")");
    } else {
      parse_targets(*s);
    }
    if (!accept_name("in")) fail_at(cur(), "expected 'in' in for loop, got " + describe(cur()));
    s->expr = parse_tuple(true);
    if (accept_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) fail_at(cur(), "recursive for loops are not supported");
    expect_block_end();
    std::string end = body_until(s->body, {"endfor", "else"}, tok);
    if (end == "else") {
      expect_block_end();
      body_until(s->else_body, {"endfor"}, tok);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(const Token& tok) {
    auto s = stmt(SK::Set, tok);
    std::string first = expect_name();
    s->targets.push_back(first);
    if (accept_op(".")) {
      s->attr = expect_name();
    } else {
      while (accept_op(",")) {
        if (cur().type != Tok::Name) break;
        s->targets.push_back(expect_name());
      }
    }
    if (accept_op("=")) {
      s->expr = parse_tuple(false);
      expect_block_end();
      return s;
    }
    if (s->targets.size() != 1 || !s->attr.empty()) fail_at(cur(), "expected '=' in set");
    s->kind = SK::SetBlock;
    if (is_op("|")) s->expr = parse_filters(nullptr);
    expect_block_end();
    body_until(s->body, {"endset"}, tok);
    expect_block_end();
    return s;
  }

  void parse_params(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string name = expect_name();
      ExprPtr def;
      if (accept_op("=")) def = parse_expression(true);
      s.params.emplace_back(std::move(name), std::move(def));
    }
    expect_op(")");
  }

  StmtPtr parse_macro(const Token& tok) {
    auto s = stmt(SK::Macro, tok);
    s->text = expect_name();
    parse_params(*s);
    expect_block_end();
    body_until(s->body, {"endmacro"}, tok);
    if (cur().type == Tok::Name) advance();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(const Token& tok) {
    auto s = stmt(SK::CallBlock, tok);
    if (is_op("(")) parse_params(*s);
    s->expr = parse_expression(true);
    if (s->expr->kind != EK::Call) fail_at(tok, "expected a call in the call block");
    expect_block_end();
    body_until(s->body, {"endcall"}, tok);
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(const Token& tok) {
    auto s = stmt(SK::FilterBlock, tok);
    s->expr = parse_filters(nullptr, false);
    expect_block_end();
    body_until(s->body, {"endfilter"}, tok);
    expect_block_end();
    return s;
  }

  StmtPtr parse_with(const Token& tok) {
    auto s = stmt(SK::With, tok);
    while (cur().type != Tok::BlockEnd) {
      if (!s->params.empty()) expect_op(",");
      std::string name = expect_name();
      expect_op("=");
      s->params.emplace_back(std::move(name), parse_expression(true));
    }
    expect_block_end();
    body_until(s->body, {"endwith"}, tok);
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  // A bare comma list is a tuple: {{ a, b }}, {% set x = 1, 2 %}.
  ExprPtr parse_tuple(bool no_cond) {
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

  bool ends_tuple() const {
    const Token& c = cur();
    if (c.type == Tok::VarEnd || c.type == Tok::BlockEnd || c.type == Tok::Eof) return true;
    if (c.type == Tok::Op && (c.text == ")" || c.text == "]" || c.text == "}")) return true;
    return c.type == Tok::Name && (c.text == "if" || c.text == "in");
  }

  ExprPtr parse_expression(bool with_cond = true) {
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

  ExprPtr binary(const char* op, ExprPtr l, ExprPtr r, const Token& at) {
    ExprPtr b = node(EK::Binary, at);
    b->name = op;
    add(b, std::move(l));
    add(b, std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr l = parse_and();
    while (is_name("or")) {
      Token at = cur();
      advance();
      l = binary("or", std::move(l), parse_and(), at);
    }
    return l;
  }

  ExprPtr parse_and() {
    ExprPtr l = parse_not();
    while (is_name("and")) {
      Token at = cur();
      advance();
      l = binary("and", std::move(l), parse_not(), at);
    }
    return l;
  }

  ExprPtr parse_not() {
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

  ExprPtr parse_compare() {
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

  ExprPtr parse_math1() {
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      Token at = cur();
      advance();
      l = binary(at.text == "+" ? "+" : "-", std::move(l), parse_concat(), at);
    }
    return l;
  }

  ExprPtr parse_concat() {
    Token at = cur();
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    ExprPtr c = node(EK::Concat, at);
    add(c, std::move(first));
    while (accept_op("~")) add(c, parse_math2());
    return c;
  }

  ExprPtr parse_math2() {
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Token at = cur();
      advance();
      const char* op = at.text == "*" ? "*" : at.text == "/" ? "/" : at.text == "//" ? "//" : "%";
      l = binary(op, std::move(l), parse_pow(), at);
    }
    return l;
  }

  ExprPtr parse_pow() {
    ExprPtr l = parse_unary(true);
    while (is_op("**")) {
      Token at = cur();
      advance();
      l = binary("**", std::move(l), parse_unary(true), at);
    }
    return l;
  }

  ExprPtr parse_unary(bool with_filter) {
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

  ExprPtr parse_primary() {
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

  ExprPtr parse_postfix(ExprPtr n) {
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

  ExprPtr parse_subscript(ExprPtr obj) {
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

  void parse_call_args(ExprPtr& e) {
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

  ExprPtr parse_call(ExprPtr callee) {
    ExprPtr c = node(EK::Call, cur());
    add(c, std::move(callee));
    parse_call_args(c);
    return c;
  }

  ExprPtr parse_filter_tail(ExprPtr n) {
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
  ExprPtr parse_filters(ExprPtr operand, bool leading_pipe = true) {
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

  ExprPtr parse_test(ExprPtr operand) {
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
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize(source)).run(); }

}  // namespace kestrel::jinja
