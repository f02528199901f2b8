// Unit tests of the Jinja interpreter beyond the Jinja2-generated corpus
// (test_jinja_templates.cpp): Python value semantics, the API (RaisedError,
// RenderOptions), errors naming their line, and the limits that keep
// hostile templates from crashing, hanging or exhausting memory.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"

namespace {

using nlohmann::json;
using kestrel::jinja::RaisedError;
using kestrel::jinja::RenderOptions;
using kestrel::jinja::Template;
using kestrel::jinja::TemplateError;

std::string render(const std::string& src, const json& ctx = json::object(), const RenderOptions& o = {}) {
  return Template(src).render(ctx, o);
}

// The error a template gives (parse or render), or "" when it renders.
std::string error_of(const std::string& src, const json& ctx = json::object(), const RenderOptions& o = {}) {
  try {
    render(src, ctx, o);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, PythonRendering) {
  EXPECT_EQ(render("{{ x }}|{{ n }}|{{ t }}|{{ f }}|{{ i }}", {{"n", nullptr}, {"t", true}, {"f", 1.0}, {"i", 3}}),
            "|None|True|1.0|3");
  EXPECT_EQ(render("{{ l }} {{ d }}", {{"l", {"a", "b"}}, {"d", {{"k", "v"}}}}), "['a', 'b'] {'k': 'v'}");
  EXPECT_EQ(render("{{ \"it's\" }} {{ [\"it's\"] }}"), "it's [\"it's\"]");
  // Integers and floats stay distinct, as in the JSON context.
  EXPECT_EQ(render("{{ a + 1 }} {{ b + 1 }} {{ a / 2 }}", {{"a", 2}, {"b", 2.0}}), "3 3.0 1.0");
}

TEST(Jinja, UndefinedIsEmptyAndFalsy) {
  EXPECT_EQ(render("[{{ nope }}]{% if nope %}x{% endif %}{% for i in nope %}y{% else %}z{% endfor %}"), "[]z");
  EXPECT_EQ(render("{{ d.missing is defined }} {{ d.missing }}", {{"d", json::object()}}), "False ");
  // As in Jinja2's default Undefined: using it as an object is an error.
  EXPECT_NE(error_of("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nope() }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nope + 1 }}").find("'nope' is undefined"), std::string::npos);
}

TEST(Jinja, RaiseExceptionMessageIsExact) {
  try {
    render("line one\n{% if true %}{{ raise_exception('Bad role: ' ~ r) }}{% endif %}", {{"r", "tool"}});
    FAIL() << "no exception";
  } catch (const RaisedError& e) {
    EXPECT_STREQ(e.what(), "Bad role: tool");
    EXPECT_EQ(e.line(), 2);
  }
}

TEST(Jinja, StrftimeNowUsesOptionsClockInUtc) {
  RenderOptions o;
  o.now = 1795219200 + 3600 * 23;  // 2026-11-21 23:00 UTC
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d %H:%M') }}", json::object(), o), "2026-11-21 23:00");
  EXPECT_EQ(render("{{ strftime_now('%d %B %Y') }}", json::object(), o), "21 November 2026");
  EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");  // the real clock
}

TEST(Jinja, SyntaxErrorsNameTheLine) {
  std::string e = error_of("ok\n{% if x %}\n{% frobnicate %}\n{% endif %}");
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown tag 'frobnicate'"), std::string::npos) << e;
  try {
    Template t("a\nb {{ x | nosuchfilter }}");
    FAIL();
  } catch (const TemplateError& err) {
    EXPECT_EQ(err.line(), 2);
    EXPECT_GT(err.column(), 0);
    EXPECT_NE(std::string(err.what()).find("no filter named 'nosuchfilter'"), std::string::npos);
  }
  EXPECT_NE(error_of("{{ x is nosuchtest }}").find("no test named 'nosuchtest'"), std::string::npos);
  EXPECT_NE(error_of("{% for x in y %}\nbody").find("endfor"), std::string::npos);
  EXPECT_NE(error_of("{% endif %}").find("unexpected 'endif'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'abc }}").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("{{ x ").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{# never closed").find("comment"), std::string::npos);
  EXPECT_NE(error_of("{{ (1 }}").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 ) }}").find("unexpected ')'"), std::string::npos);
  EXPECT_NE(error_of("{{ a @ b }}").find("unexpected character '@'"), std::string::npos);
  EXPECT_NE(error_of("{% include 'x.j2' %}").find("not supported"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameTheLine) {
  try {
    render("a\n\n{{ 1 + 'x' }}");
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("unsupported operand type(s) for +: 'int' and 'str'"), std::string::npos);
  }
  EXPECT_NE(error_of("{{ 1 // 0 }}").find("division"), std::string::npos);
  EXPECT_NE(error_of("{{ 2 ** 200 }}").find("overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ [1][::0] }}").find("slice step cannot be zero"), std::string::npos);
  EXPECT_NE(error_of("{% set x = 1 %}{% set x.y = 2 %}").find("non-namespace"), std::string::npos);
  EXPECT_NE(error_of("{% for a, b in [1] %}{% endfor %}").find("unpack"), std::string::npos);
  EXPECT_NE(error_of("{{ x }}", json::array()).find("object"), std::string::npos);
}

TEST(Jinja, MutatingMethodsAndCycles) {
  // Jinja2's sandbox forbids these; kestrel allows them (llama.cpp does too).
  EXPECT_EQ(render("{% set l = [1] %}{% set m = l %}{% do m.append(2) %}{{ l }}{{ l.pop() }}{{ l }}"), "[1, 2]2[1]");
  EXPECT_EQ(render("{% set d = {} %}{% do d.update({'a': 1}) %}{{ d }}"), "{'a': 1}");
  // A list holding itself prints as Python does; tojson refuses it; nothing leaks.
  EXPECT_EQ(render("{% set l = [] %}{% do l.append(l) %}{{ l }}"), "[[...]]");
  EXPECT_NE(error_of("{% set l = [] %}{% do l.append(l) %}{{ l|tojson }}").find("Circular reference"), std::string::npos);
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me is defined }}"), "True");
}

TEST(Jinja, GenerationBlockRendersItsBody) {
  EXPECT_EQ(render("a{% generation %}b{{ 1 }}{% endgeneration %}c"), "ab1c");
}

TEST(Jinja, TemplateIsMovable) {
  Template a("{{ x }}");
  Template b(std::move(a));
  EXPECT_EQ(b.render({{"x", 5}}), "5");
  Template c("");
  c = std::move(b);
  EXPECT_EQ(c.render({{"x", 6}}), "6");
}

TEST(JinjaLimits, DeepNestingIsACleanError) {
  for (const char* open : {"(", "[", "{'a': ", "not ", "-"}) {
    std::string src = "{{ ";
    for (int i = 0; i < 5000; ++i) src += open;
    src += "1";
    EXPECT_THROW(Template t(src), TemplateError) << open;
  }
  std::string ifs;
  for (int i = 0; i < 1000; ++i) ifs += "{% if true %}";
  EXPECT_THROW(Template t(ifs), TemplateError);
  // Long flat chains are as deep as nesting for the evaluator.
  for (const char* op : {" + 1", "|trim", ".a", "[0]", "()", " is defined"}) {
    std::string src = "{{ x";
    for (int i = 0; i < 20000; ++i) src += op;
    src += " }}";
    EXPECT_THROW(Template t(src), TemplateError) << op;
  }
  // `~` chains are one flat node, so a long one is fine.
  std::string cat = "{{ 'a'";
  for (int i = 0; i < 20000; ++i) cat += " ~ 'a'";
  EXPECT_EQ(render(cat + " }}").size(), 20001u);
  // Moderate nesting still works.
  std::string ok = "{{ ";
  for (int i = 0; i < 50; ++i) ok += "(";
  ok += "1";
  for (int i = 0; i < 50; ++i) ok += ")";
  EXPECT_EQ(render(ok + " }}"), "1");
}

TEST(JinjaLimits, Loops) {
  EXPECT_NE(error_of("{% for i in range(10**9) %}{% endfor %}").find("Range too big"), std::string::npos);
  RenderOptions o;
  o.max_loop_iterations = 10000;
  EXPECT_NE(error_of("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", json::object(), o)
                .find("loop iteration limit"),
            std::string::npos);
  EXPECT_EQ(render("{% for i in range(100) %}{% endfor %}ok", json::object(), o), "ok");
}

TEST(JinjaLimits, Recursion) {
  std::string e = error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_NE(e.find("recursion"), std::string::npos) << e;
  RenderOptions o;
  o.max_recursion = 10;
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(5) }}", json::object(), o),
            "012345");
  EXPECT_THROW(render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(0) }}", json::object(), o), TemplateError);
}

// Found by fuzz_jinja: each call is shallow, but there are 2^72 of them.
TEST(JinjaLimits, ExponentialMacroCallsStop) {
  RenderOptions o;
  o.max_loop_iterations = 100000;
  std::string e = error_of("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(72) }}",
                           json::object(), o);
  EXPECT_NE(e.find("iteration limit"), std::string::npos) << e;
}

TEST(JinjaLimits, OutputAndStringGrowth) {
  RenderOptions o;
  o.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(2000) %}x{% endfor %}", json::object(), o).find("output exceeds"), std::string::npos);
  EXPECT_THROW(render("{{ 'x' * 10**9 }}", json::object(), o), TemplateError);
  EXPECT_THROW(render("{{ 'x' * 10**18 * 10 }}"), TemplateError);
  // Doubling a string that is never printed still stops.
  EXPECT_THROW(render("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                      json::object(), o),
               TemplateError);
  EXPECT_THROW(render("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"),
               TemplateError);
  EXPECT_THROW(render("{{ ([1] * 1000) * 100000 }}"), TemplateError);
  // Found by fuzz_jinja: an empty operand repeated 2^34 times must not loop.
  EXPECT_EQ(render("{{ [] * 2**34 }}{{ '' * 2**62 }}{{ x|items * 2**40 }}"), "[][]");
}

// Recursive macros whose bodies nest deeply: bounded by the stack actually
// used, whatever the frame sizes of the statements involved.
TEST(JinjaLimits, DeepRecursionThroughBlocks) {
  auto wrap = [](const char* open, const char* close, int n) {
    std::string body;
    for (int i = 0; i < n; ++i) body += open;
    body += "{{ f(n + 1) }}";
    for (int i = 0; i < n; ++i) body += close;
    return "{% macro f(n) %}" + body + "{% endmacro %}{{ f(0) }}";
  };
  EXPECT_THROW(render(wrap("{% if true %}", "{% endif %}", 250)), TemplateError);
  EXPECT_THROW(render(wrap("{% for i in [1] %}", "{% endfor %}", 120)), TemplateError);
  EXPECT_THROW(render(wrap("{% set x %}", "{% endset %}", 120)), TemplateError);
  EXPECT_THROW(render(wrap("{% filter upper %}", "{% endfilter %}", 120)), TemplateError);
  std::string chain = "{% macro f(n) %}{{ f(n + 1)";
  for (int i = 0; i < 250; ++i) chain += "|replace('a', 'b')";
  EXPECT_THROW(render(chain + " }}{% endmacro %}{{ f(0) }}"), TemplateError);
}

// A value built 10^5 levels deep would overflow the stack when freed.
TEST(JinjaLimits, DeepValuesAreRefused) {
  for (const char* wrap : {"[ns.l]", "{'a': ns.l}", "(ns.l, 1)"}) {
    std::string src = "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ";
    src += wrap;
    src += " %}{% endfor %}";
    std::string e = error_of(src);
    EXPECT_NE(e.find("nested too deeply"), std::string::npos) << wrap << ": " << e;
  }
  EXPECT_THROW(render("{% set l = [] %}{% for i in range(100000) %}{% do l.append(l) %}{% endfor %}"), TemplateError);
  EXPECT_EQ(render("{% set ns = namespace(l=[]) %}{% for i in range(100) %}{% set ns.l = [ns.l] %}{% endfor %}ok"), "ok");
}

TEST(JinjaLimits, DeepContextIsRefused) {
  json deep = json::array();
  for (int i = 0; i < 2000; ++i) deep = json::array({deep});
  EXPECT_THROW(render("{{ x|length }}", {{"x", deep}}), TemplateError);
}

}  // namespace
