// Reference renderings: every shared real-world chat template over every
// conversation of ../shared/data/templates/expected.json, the same templates
// with tools, tool calls and tool results (tests/data/chat/expected_tools.json),
// and the feature snippets (tests/data/chat/jinja_snippets.json), all
// produced by Jinja2 the way Hugging Face renders (make_expected.py), and
// compared byte for byte. A template that raises must raise here too, with
// the same message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"

namespace {

using nlohmann::json;
using kestrel::jinja::RaisedError;
using kestrel::jinja::RenderOptions;
using kestrel::jinja::Template;
using kestrel::jinja::TemplateError;

const std::string kTemplates = std::string(KESTREL_SHARED_DIR) + "/data/templates";

std::string data_dir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/../../data/chat";
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

RenderOptions fixed_date() {
  RenderOptions o;
  o.now = 1795219200;  // 2026-11-21T00:00:00Z, the date of the reference renderings
  return o;
}

// Renders and compares with `expected` (a string, or {"error": msg} for a
// template that raises; with "kind", Jinja2 failed with that Python error
// rather than raise_exception, and any TemplateError is accepted).
void expect_rendering(const std::string& label, const std::string& source, const json& ctx, const json& expected) {
  SCOPED_TRACE(label);
  try {
    Template t(source);
    std::string out = t.render(ctx, fixed_date());
    if (expected.is_object()) {
      ADD_FAILURE() << "expected an error (" << expected.dump() << "), got output:\n" << out;
    } else {
      EXPECT_EQ(out, expected.get<std::string>());
    }
  } catch (const RaisedError& e) {
    ASSERT_TRUE(expected.is_object()) << "unexpected raise_exception: " << e.what();
    if (!expected.contains("kind")) {
      EXPECT_EQ(std::string(e.what()), expected["error"].get<std::string>());
    }
  } catch (const TemplateError& e) {
    ASSERT_TRUE(expected.is_object()) << "unexpected error: " << e.what();
    EXPECT_TRUE(expected.contains("kind")) << "expected raise_exception(" << expected["error"] << "), got " << e.what();
  }
}

TEST(JinjaTemplates, SharedExpectedRenderings) {
  if (!std::filesystem::exists(kTemplates + "/expected.json")) GTEST_SKIP() << "no shared templates at " << kTemplates;
  json ref = json::parse(read_file(kTemplates + "/expected.json"));
  int n = 0;
  for (const auto& [key, expected] : ref["expected"].items()) {
    std::string name = key.substr(0, key.find('/')), conv = key.substr(key.find('/') + 1);
    json ctx = {{"messages", ref["conversations"][conv]},
                {"bos_token", ref["bos_token"]},
                {"eos_token", ref["eos_token"]},
                {"add_generation_prompt", ref["add_generation_prompt"]}};
    expect_rendering(key, read_file(kTemplates + "/" + name + ".jinja"), ctx, expected);
    ++n;
  }
  EXPECT_EQ(n, 30);
}

TEST(JinjaTemplates, ToolsAndNoGenerationPrompt) {
  if (!std::filesystem::exists(kTemplates)) GTEST_SKIP() << "no shared templates at " << kTemplates;
  json ref = json::parse(read_file(data_dir() + "/expected_tools.json"));
  ASSERT_GT(ref["cases"].size(), 50u);
  for (const json& c : ref["cases"]) {
    std::string name = c["template"];
    json ctx = {{"messages", ref["conversations"][c["conversation"].get<std::string>()]},
                {"tools", c["tools"].get<bool>() ? ref["tools"] : json(nullptr)},
                {"documents", nullptr},
                {"add_generation_prompt", c["add_generation_prompt"]},
                {"bos_token", ref["bos_token"]},
                {"eos_token", ref["eos_token"]}};
    std::string label = name + "/" + c["conversation"].get<std::string>() + (c["tools"].get<bool>() ? " +tools" : "") +
                        (c["add_generation_prompt"].get<bool>() ? " +gen" : "");
    expect_rendering(label, read_file(kTemplates + "/" + name + ".jinja"), ctx, c["expected"]);
  }
}

TEST(JinjaTemplates, FeatureSnippets) {
  json ref = json::parse(read_file(data_dir() + "/jinja_snippets.json"));
  ASSERT_GT(ref["cases"].size(), 100u);
  for (const json& c : ref["cases"]) expect_rendering(c["source"], c["source"], ref["context"], c["expected"]);
}

}  // namespace
