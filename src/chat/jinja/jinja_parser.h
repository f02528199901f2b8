// Builds the syntax tree (jinja_ast.h) from tokens by recursive descent,
// with Jinja2's grammar and operator precedence. Unknown tags, filters and
// tests are syntax errors here, as they are when Jinja2 compiles a template,
// so a template kestrel cannot render fails when it is loaded, naming the line.
// Nesting (brackets, statements, operator chains) is capped at kMaxNesting.
#pragma once

#include <string_view>

#include "chat/jinja/jinja_ast.h"

namespace kestrel::jinja {

constexpr int kMaxNesting = 256;

Body parse_template(std::string_view source);

}  // namespace kestrel::jinja
