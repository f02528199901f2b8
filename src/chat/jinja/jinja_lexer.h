// Splits template source into tokens: literal text and the contents of
// `{{ }}` / `{% %}` tags (names, numbers, strings, operators).
//
// Whitespace control is applied here, as Jinja2's lexer does, with Hugging
// Face's settings: trim_blocks (the newline after a block or comment tag is
// dropped), lstrip_blocks (spaces and tabs before a block or comment tag at
// the start of a line are dropped), `-` on either side of a tag strips all
// whitespace on that side and `+` turns lstrip/trim off. Comments vanish,
// `{% raw %}` bodies become text, a single trailing newline of the source is
// dropped (keep_trailing_newline off) and line endings are normalised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel::jinja {

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, Int, Float, String, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // text, name, operator, or the decoded string literal
  int64_t ival = 0;
  double fval = 0;
  int line = 0, col = 0;
};

// Throws TemplateError (with line and column) on a malformed tag.
std::vector<Token> tokenize(std::string_view source);

const char* token_name(Tok t);

}  // namespace kestrel::jinja
