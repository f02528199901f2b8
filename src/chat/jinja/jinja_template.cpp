// The public Template (chat/jinja.h): parse once, render many times, each
// render with fresh scopes over the caller's JSON context.
#include "chat/jinja.h"

#include "chat/jinja/jinja_interp.h"
#include "chat/jinja/jinja_parser.h"

namespace kestrel::jinja {

struct Template::Impl {
  Body body;
};

Template::Template(std::string_view source) : impl_(new Impl{parse_template(source)}) {}

Template::~Template() { delete impl_; }

Template::Template(Template&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }

Template& Template::operator=(Template&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}

std::string Template::render(const nlohmann::json& context, const RenderOptions& opts) const {
  if (!impl_) throw TemplateError("render of a moved-from template", 0, 0);
  if (!context.is_object() && !context.is_null()) throw TemplateError("the render context must be a JSON object", 0, 0);
  // Globals below the context, so a context variable named `range` wins,
  // as a Jinja2 render argument does over an environment global.
  auto globals = std::make_shared<Scope>();
  install_globals(*globals);
  auto vars = std::make_shared<Scope>();
  vars->parent = globals;
  if (context.is_object()) {
    try {
      for (auto it = context.begin(); it != context.end(); ++it) vars->vars[it.key()] = Value::from_json(it.value());
    } catch (const TemplateError& e) {
      throw TemplateError(std::string("context: ") + e.what(), 0, 0);
    }
  }
  Interpreter in(opts, vars);
  return in.render(impl_->body);
}

}  // namespace kestrel::jinja
