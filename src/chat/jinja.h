// A Jinja2 interpreter for the chat templates shipped in GGUF files
// (`tokenizer.chat_template`). No C++ Jinja library is packaged, so kestrel
// has its own: a lexer, a parser into an AST, and an evaluator over
// nlohmann::json values, with the statements, expressions, filters, tests and
// methods that real chat templates use. Rendering follows Hugging Face's
// settings (trim_blocks and lstrip_blocks on), so the output is byte-identical
// to what transformers' apply_chat_template produces.
//
// Errors (syntax the interpreter does not know, a template's
// raise_exception, a runtime type error) are thrown as TemplateError naming
// the line (and column where known).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace kestrel::jinja {

class TemplateError : public Error {
 public:
  TemplateError(const std::string& what, int line, int column)
      : Error(what), line_(line), column_(column) {}
  int line() const { return line_; }      // 1-based; 0 when unknown
  int column() const { return column_; }  // 1-based; 0 when unknown
 private:
  int line_, column_;
};

// Thrown for the template's own raise_exception(msg): what() is msg exactly.
class RaisedError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

struct RenderOptions {
  // strftime_now() formats this time (UTC) instead of the clock's, for tests.
  std::optional<std::time_t> now;
  // Limits that keep a hostile template from hanging or exhausting memory.
  size_t max_output_bytes = 16u << 20;
  int max_recursion = 200;
  long long max_loop_iterations = 10'000'000;
};

class Template {
 public:
  // Parses the source; throws TemplateError on a syntax error.
  explicit Template(std::string_view source);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with `context` as the global variables (an object).
  std::string render(const nlohmann::json& context, const RenderOptions& opts = {}) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace kestrel::jinja
