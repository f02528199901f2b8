// detect_tool_call_format() and the reasoning hints on the real chat
// templates in shared/data/templates (and the prompts in expected.json that
// Hugging Face's renderer produced from them).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "chat/tool_calls.h"

using namespace kestrel::chat;

namespace {

std::string templates_dir() { return std::string(KESTREL_SHARED_DIR) + "/data/templates/"; }

bool read(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

struct Expect {
  const char* name;
  ToolCallFormat format;
  bool reasoning;
};

// What each model writes, read off its template: Qwen's "<tool_call>" JSON,
// Mistral's [TOOL_CALLS] list, Granite's <|tool_call|> list, Llama 3.x bare
// JSON with "parameters"; SmolLM3's template (this version) has no tool
// syntax, DeepSeek-R1's uses its own <｜tool▁calls▁begin｜> tokens (not
// supported), Gemma 2 and Phi-3.5 have no tools.
constexpr Expect kTemplates[] = {
    {"HuggingFaceTB-SmolLM3-3B", ToolCallFormat::None, true},
    {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::Hermes, false},
    {"Qwen-Qwen3-0.6B", ToolCallFormat::Hermes, true},
    {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ToolCallFormat::None, true},
    {"google-gemma-2-2b-it", ToolCallFormat::None, false},
    {"ibm-granite-granite-3.3-2B-Instruct", ToolCallFormat::Granite, true},
    {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::Llama3Json, false},
    {"meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat::Llama3Json, false},
    {"microsoft-Phi-3.5-mini-instruct", ToolCallFormat::None, false},
    {"mistralai-Mistral-Nemo-Instruct-2407", ToolCallFormat::Mistral, false},
};

}  // namespace

TEST(ToolCallDetect, SharedTemplates) {
  std::string probe;
  if (!read(templates_dir() + "Qwen-Qwen3-0.6B.jinja", probe)) GTEST_SKIP() << "no templates in " << templates_dir();
  for (const Expect& e : kTemplates) {
    std::string src;
    ASSERT_TRUE(read(templates_dir() + e.name + ".jinja", src)) << e.name;
    EXPECT_EQ(detect_tool_call_format(src), e.format)
        << e.name << ": got " << tool_call_format_name(detect_tool_call_format(src)) << ", want "
        << tool_call_format_name(e.format);
    EXPECT_EQ(template_has_reasoning(src), e.reasoning) << e.name;
  }
}

TEST(ToolCallDetect, EveryTemplateFileIsCovered) {
  std::string src;
  if (!read(templates_dir() + "expected.json", src)) GTEST_SKIP() << "no expected.json in " << templates_dir();
  auto j = nlohmann::json::parse(src);
  for (const auto& [key, value] : j["expected"].items()) {
    const std::string name = key.substr(0, key.find('/'));
    bool known = false;
    for (const Expect& e : kTemplates) known = known || name == e.name;
    EXPECT_TRUE(known) << name << " has no expected format here";
  }
}

TEST(ToolCallDetect, GenerationPromptsThatOpenReasoning) {
  std::string src;
  if (!read(templates_dir() + "expected.json", src)) GTEST_SKIP() << "no expected.json in " << templates_dir();
  auto j = nlohmann::json::parse(src);
  for (const auto& [key, value] : j["expected"].items()) {
    if (!value.is_string()) continue;  // a conversation the template refuses
    // Only DeepSeek-R1's generation prompt ends in `<think>\n`.
    const bool want = key.rfind("deepseek-ai-DeepSeek-R1-Distill-Llama-8B/", 0) == 0;
    EXPECT_EQ(prompt_opens_reasoning(value.get<std::string>()), want) << key;
  }
}

TEST(ToolCallDetect, Snippets) {
  EXPECT_EQ(detect_tool_call_format(""), ToolCallFormat::None);
  EXPECT_EQ(detect_tool_call_format("{{ '<tool_call>\\n' + x + '\\n</tool_call>' }}"), ToolCallFormat::Hermes);
  EXPECT_EQ(detect_tool_call_format("{{- \"[TOOL_CALLS][\" }}"), ToolCallFormat::Mistral);
  EXPECT_EQ(detect_tool_call_format("respond only with <|tool_call|> followed by"), ToolCallFormat::Granite);
  EXPECT_EQ(detect_tool_call_format("{{- \"<|python_tag|>\" }}"), ToolCallFormat::Llama3Json);
  EXPECT_EQ(detect_tool_call_format("<|start_header_id|>system {\"name\": name, \"parameters\": ...}"),
            ToolCallFormat::Llama3Json);
  // "parameters" alone (a JSON-schema dump) is not Llama 3.
  EXPECT_EQ(detect_tool_call_format("<|im_start|>{{ tool.parameters | tojson }} \"parameters\""), ToolCallFormat::None);
  EXPECT_STREQ(tool_call_format_name(ToolCallFormat::Hermes), "hermes");
  EXPECT_STREQ(tool_call_format_name(ToolCallFormat::Llama3Json), "llama3_json");
  EXPECT_STREQ(tool_call_format_name(ToolCallFormat::Mistral), "mistral");
  EXPECT_STREQ(tool_call_format_name(ToolCallFormat::Granite), "granite");
  EXPECT_STREQ(tool_call_format_name(ToolCallFormat::None), "none");
  EXPECT_TRUE(prompt_opens_reasoning("<｜Assistant｜><think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n"));
}
