// The recursive-descent parser (see jinja_parser.h). Precedence, loosest
// first, as in Jinja2: conditional, or, and, not, comparisons (chained),
// + -, ~, * / // %, **, unary - +, then primaries with postfix `.x`, `[i]`,
// `(args)`, and the filter/test tail `| f` / `is t`.
#include "chat/jinja/jinja_parser.h"

#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_parser_impl.h"

namespace kestrel::jinja {

Body Parser::run() {
  Body body;
  std::string end = parse_body(body, {});
  if (!end.empty()) fail_at(cur(), "unexpected '" + end + "'");
  return body;
}

// Parses until a block tag named in `ends` (left unconsumed, its name
// returned) or the end of the template ("" returned).
std::string Parser::parse_body(Body& body, std::initializer_list<const char*> ends) {
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

StmtPtr Parser::stmt(SK kind, const Token& at) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = at.line;
  s->col = at.col;
  return s;
}

// Parses a body up to one of `ends`, failing at the end of the template
// with the name of the statement still open.
std::string Parser::body_until(Body& body, std::initializer_list<const char*> ends, const Token& opener) {
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

StmtPtr Parser::parse_statement() {
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

StmtPtr Parser::parse_if(const Token& tok) {
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

void Parser::parse_targets(Stmt& s) {
  s.targets.push_back(expect_name());
  while (accept_op(",")) {
    if (cur().type != Tok::Name) break;
    s.targets.push_back(expect_name());
  }
}

StmtPtr Parser::parse_for(const Token& tok) {
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

StmtPtr Parser::parse_set(const Token& tok) {
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

void Parser::parse_params(Stmt& s) {
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

StmtPtr Parser::parse_macro(const Token& tok) {
  auto s = stmt(SK::Macro, tok);
  s->text = expect_name();
  parse_params(*s);
  expect_block_end();
  body_until(s->body, {"endmacro"}, tok);
  if (cur().type == Tok::Name) advance();  // {% endmacro name %}
  expect_block_end();
  return s;
}

StmtPtr Parser::parse_call_block(const Token& tok) {
  auto s = stmt(SK::CallBlock, tok);
  if (is_op("(")) parse_params(*s);
  s->expr = parse_expression(true);
  if (s->expr->kind != EK::Call) fail_at(tok, "expected a call in the call block");
  expect_block_end();
  body_until(s->body, {"endcall"}, tok);
  expect_block_end();
  return s;
}

StmtPtr Parser::parse_filter_block(const Token& tok) {
  auto s = stmt(SK::FilterBlock, tok);
  s->expr = parse_filters(nullptr, false);
  expect_block_end();
  body_until(s->body, {"endfilter"}, tok);
  expect_block_end();
  return s;
}

StmtPtr Parser::parse_with(const Token& tok) {
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

Body parse_template(std::string_view source) { return Parser(tokenize(source)).run(); }

}  // namespace kestrel::jinja
