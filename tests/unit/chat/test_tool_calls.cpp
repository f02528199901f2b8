// Whole-message parsing of what chat models write: tool calls in each
// supported format (Hermes/Qwen, Llama-3 bare JSON, Mistral, Granite) and
// <think> reasoning, written the way those models emit them. Streaming is
// in test_tool_stream.cpp, template detection in test_tool_detect.cpp.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "chat/tool_calls.h"

using namespace kestrel::chat;

namespace {

ParseOptions tools(ToolCallFormat f) {
  ParseOptions o;
  o.format = f;
  o.parse_tool_calls = true;
  return o;
}

ParseOptions reasoning(ToolCallFormat f = ToolCallFormat::None, bool with_tools = false) {
  ParseOptions o;
  o.format = f;
  o.parse_tool_calls = with_tools;
  o.parse_reasoning = true;
  return o;
}

bool generated_id(const std::string& id) {
  if (id.size() != 13 || id.rfind("call_", 0) != 0) return false;
  for (char c : id.substr(5))
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

// ---- Hermes / Qwen2.5 / Qwen3 ----

TEST(ToolCallsHermes, SingleCall) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "");
  EXPECT_EQ(m.reasoning_content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\":\"Paris\",\"unit\":\"celsius\"}");
  EXPECT_EQ(m.tool_calls[0].id, "call_LWNqGF8E");  // seed 0, first id
}

TEST(ToolCallsHermes, SeveralCallsHaveDistinctIds) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"b\", \"arguments\": {\"y\": [1, 2]}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"c\", \"arguments\": {}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 3u);
  EXPECT_EQ(m.tool_calls[0].name, "a");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"x\":1}");
  EXPECT_EQ(m.tool_calls[1].name, "b");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\"y\":[1,2]}");
  EXPECT_EQ(m.tool_calls[2].name, "c");
  EXPECT_EQ(m.tool_calls[2].arguments, "{}");
  std::set<std::string> ids;
  for (const auto& c : m.tool_calls) {
    EXPECT_TRUE(generated_id(c.id)) << c.id;
    ids.insert(c.id);
  }
  EXPECT_EQ(ids.size(), 3u);
}

TEST(ToolCallsHermes, TextBeforeTheCallIsContent) {
  auto m = parse_assistant_output(
      "Let me look that up for you.\n\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"kestrel\"}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "Let me look that up for you.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"q\":\"kestrel\"}");
}

TEST(ToolCallsHermes, TextAfterTheCallIsContent) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n\nDone, waiting for the result.",
      tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "Done, waiting for the result.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
}

TEST(ToolCallsHermes, MalformedJsonStaysContent) {
  const std::string text =
      "I will call it.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>\nAnything else?";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, InvalidJsonValueStaysContent) {
  const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": nope}}\n</tool_call>";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, NotAnObjectAfterTheTagStaysContent) {
  const std::string text = "<tool_call>\n```json\n{\"name\": \"f\"}\n```\n</tool_call>";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, ObjectWithoutNameStaysContent) {
  const std::string text = "<tool_call>\n{\"arguments\": {\"a\": 1}}\n</tool_call>";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, ArgumentsGivenAsAJsonString) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"path\\\": \\\"/tmp/x\\\", \\\"n\\\": 3}\"}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"n\":3,\"path\":\"/tmp/x\"}");
}

TEST(ToolCallsHermes, ArgumentsStringThatIsNotAnObjectStaysContent) {
  const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": \"just words\"}\n</tool_call>";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, UnicodeInArguments) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"translate\", \"arguments\": {\"text\": \"Grüße, 世界 🚀\", \"esc\": \"\\u00e9\"}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"esc\":\"é\",\"text\":\"Grüße, 世界 🚀\"}");
}

TEST(ToolCallsHermes, NestedObjectsAndBracesInStrings) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"name\": \"create\", \"arguments\": {\"spec\": {\"tags\": [\"a\", \"b\"], \"meta\": {\"k\": null, "
      "\"s\": \"}{ ]</tool_call>\\\"\"}}, \"flag\": true}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments,
            "{\"flag\":true,\"spec\":{\"meta\":{\"k\":null,\"s\":\"}{ ]</tool_call>\\\"\"},\"tags\":[\"a\",\"b\"]}}");
}

TEST(ToolCallsHermes, UnterminatedCallThatParsesIsACall) {
  auto m = parse_assistant_output("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}", tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\":1}");
}

TEST(ToolCallsHermes, UnterminatedCallThatDoesNotParseIsContent) {
  const std::string text = "Sure.\n<tool_call>\n{\"name\": \"f\", \"argu";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, MissingArgumentsMeansEmptyObject) {
  auto m = parse_assistant_output("<tool_call>\n{\"name\": \"now\"}\n</tool_call>", tools(ToolCallFormat::Hermes));
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "now");
  EXPECT_EQ(m.tool_calls[0].arguments, "{}");
}

TEST(ToolCallsHermes, OpenAiShapedObject) {
  auto m = parse_assistant_output(
      "<tool_call>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": 2}}}\n</tool_call>",
      tools(ToolCallFormat::Hermes));
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "f");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\":2}");
}

TEST(ToolCallsHermes, NotParsedWithoutTools) {
  const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
  auto m = parse_assistant_output(text, ParseOptions{ToolCallFormat::Hermes, false, false, false});
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsHermes, OtherFormatsMarkersAreContent) {
  const std::string text = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Hermes));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

// ---- Llama 3.1 / 3.2 bare JSON ----

TEST(ToolCallsLlama3, BareJsonWithParameters) {
  auto m = parse_assistant_output("{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Oslo\"}}",
                                  tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"location\":\"Oslo\"}");
  EXPECT_TRUE(generated_id(m.tool_calls[0].id));
}

TEST(ToolCallsLlama3, PythonTagAndArgumentsKey) {
  auto m = parse_assistant_output("<|python_tag|>{\"name\": \"f\", \"arguments\": {\"a\": [1, {\"b\": 2}]}}",
                                  tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\":[1,{\"b\":2}]}");
}

TEST(ToolCallsLlama3, SurroundingWhitespaceIsTrimmed) {
  auto m = parse_assistant_output("\n\n  {\"name\": \"f\", \"parameters\": {}}  \n", tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{}");
}

TEST(ToolCallsLlama3, SeveralSeparatedBySemicolonsAndNewlines) {
  auto m = parse_assistant_output(
      "{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {\"y\": 2}}\n"
      "{\"name\": \"c\", \"parameters\": {\"z\": \"3\"}}",
      tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 3u);
  EXPECT_EQ(m.tool_calls[0].name, "a");
  EXPECT_EQ(m.tool_calls[1].name, "b");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\"y\":2}");
  EXPECT_EQ(m.tool_calls[2].name, "c");
  EXPECT_EQ(m.tool_calls[2].arguments, "{\"z\":\"3\"}");
  EXPECT_NE(m.tool_calls[0].id, m.tool_calls[1].id);
  EXPECT_NE(m.tool_calls[1].id, m.tool_calls[2].id);
  EXPECT_NE(m.tool_calls[0].id, m.tool_calls[2].id);
}

TEST(ToolCallsLlama3, TextBeforeJsonIsContent) {
  const std::string text = "Here you go: {\"name\": \"f\", \"parameters\": {}}";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, TextAfterJsonMakesItAllContent) {
  const std::string text = "{\"name\": \"f\", \"parameters\": {}} is what I would call.";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, JsonThatIsNotACallIsContent) {
  const std::string text = "{\"name\": \"Bob\", \"age\": 42}";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, BraceProseIsContent) {
  const std::string text = "{curly} braces are fine";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
}

TEST(ToolCallsLlama3, MalformedJsonIsContent) {
  const std::string text = "{\"name\": \"f\", \"parameters\": {\"a\": }}";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, UnclosedJsonIsContent) {
  const std::string text = "{\"name\": \"f\", \"parameters\": {\"a\": 1}";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, BuiltinToolSyntaxIsContent) {
  const std::string text = "<|python_tag|>brave_search.call(query=\"weather\")";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsLlama3, PlainAnswerIsContent) {
  auto m = parse_assistant_output("The capital of France is Paris.", tools(ToolCallFormat::Llama3Json));
  EXPECT_EQ(m.content, "The capital of France is Paris.");
  EXPECT_TRUE(m.tool_calls.empty());
}

// ---- Mistral Nemo ----

TEST(ToolCallsMistral, CallsWithAndWithoutIds) {
  auto m = parse_assistant_output(
      "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}, \"id\": \"abc123xyz\"}, "
      "{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}]",
      tools(ToolCallFormat::Mistral));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "abc123xyz");
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\":\"Lyon\"}");
  // Mistral's template raises unless ids are 9 alphanumerics.
  EXPECT_EQ(m.tool_calls[1].id, "LWNqGF8EF");
  EXPECT_EQ(m.tool_calls[1].name, "get_time");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\"tz\":\"CET\"}");
}

TEST(ToolCallsMistral, TextBeforeAndUnicode) {
  auto m = parse_assistant_output(
      "Checking.[TOOL_CALLS] [{\"name\": \"say\", \"arguments\": {\"text\": \"naïve café ✓\"}}]",
      tools(ToolCallFormat::Mistral));
  EXPECT_EQ(m.content, "Checking.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"text\":\"naïve café ✓\"}");
}

TEST(ToolCallsMistral, ArgumentsAsStringAndNested) {
  auto m = parse_assistant_output(
      "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": {\\\"b\\\": [true]}}\"}]", tools(ToolCallFormat::Mistral));
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\":{\"b\":[true]}}");
}

TEST(ToolCallsMistral, MalformedArrayStaysContent) {
  const std::string text = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, {\"name\": 5}]";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Mistral));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsMistral, UnterminatedArrayStaysContent) {
  const std::string text = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1}}";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Mistral));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ToolCallsMistral, DuplicateModelIdsAreReplaced) {
  auto m = parse_assistant_output(
      "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}, \"id\": \"abc123xyz\"}, "
      "{\"name\": \"b\", \"arguments\": {}, \"id\": \"abc123xyz\"}]",
      tools(ToolCallFormat::Mistral));
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "abc123xyz");
  EXPECT_EQ(m.tool_calls[1].id, "LWNqGF8EF");
}

TEST(ToolCallsMistral, SeedChangesGeneratedIds) {
  ParseOptions o = tools(ToolCallFormat::Mistral);
  o.call_id_seed = 12345;
  auto m = parse_assistant_output("[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}]", o);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].id.size(), 9u);
  EXPECT_NE(m.tool_calls[0].id, "LWNqGF8EF");
}

// ---- Granite 3.x ----

TEST(ToolCallsGranite, ListOfCalls) {
  auto m = parse_assistant_output(
      "<|tool_call|>[{\"name\": \"get_stock\", \"arguments\": {\"ticker\": \"IBM\"}}, "
      "{\"name\": \"get_news\", \"arguments\": {\"topic\": \"IBM\", \"limit\": 3}}]",
      tools(ToolCallFormat::Granite));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].name, "get_stock");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"ticker\":\"IBM\"}");
  EXPECT_EQ(m.tool_calls[1].name, "get_news");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\"limit\":3,\"topic\":\"IBM\"}");
  EXPECT_TRUE(generated_id(m.tool_calls[0].id));
  EXPECT_TRUE(generated_id(m.tool_calls[1].id));
}

TEST(ToolCallsGranite, MalformedStaysContent) {
  const std::string text = "<|tool_call|>[{\"name\": \"f\", \"arguments\": {]";
  auto m = parse_assistant_output(text, tools(ToolCallFormat::Granite));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

// ---- Reasoning ----

TEST(Reasoning, ThinkBlockGoesToReasoning) {
  auto m = parse_assistant_output("<think>\nThe user wants 2+2.\nThat is 4.\n</think>\n\n2 + 2 = 4.", reasoning());
  EXPECT_EQ(m.reasoning_content, "The user wants 2+2.\nThat is 4.");
  EXPECT_EQ(m.content, "2 + 2 = 4.");
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(Reasoning, EmptyThinkBlock) {
  auto m = parse_assistant_output("<think>\n\n</think>\n\nHi!", reasoning());
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "Hi!");
}

TEST(Reasoning, NoThinkBlock) {
  auto m = parse_assistant_output("Just an answer.\n", reasoning());
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "Just an answer.\n");
}

TEST(Reasoning, ThinkNotAtTheStartIsContent) {
  auto m = parse_assistant_output("Answer first <think>x</think> then", reasoning());
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "Answer first <think>x</think> then");
}

TEST(Reasoning, UnterminatedThinkIsAllReasoning) {
  auto m = parse_assistant_output("<think>\nStill thinking about it", reasoning());
  EXPECT_EQ(m.reasoning_content, "Still thinking about it");
  EXPECT_EQ(m.content, "");
}

TEST(Reasoning, OffKeepsThinkInContent) {
  const std::string text = "<think>\nhmm\n</think>\n\nAnswer";
  auto m = parse_assistant_output(text, ParseOptions{});
  EXPECT_EQ(m.content, text);
  EXPECT_EQ(m.reasoning_content, "");
}

TEST(Reasoning, StartsInReasoning) {
  ParseOptions o = reasoning();
  o.starts_in_reasoning = true;
  auto m = parse_assistant_output("Okay, so 2+2.\nIt is 4.\n</think>\n\nThe answer is 4.", o);
  EXPECT_EQ(m.reasoning_content, "Okay, so 2+2.\nIt is 4.");
  EXPECT_EQ(m.content, "The answer is 4.");
}

TEST(Reasoning, StartsInReasoningNeverClosed) {
  ParseOptions o = reasoning();
  o.starts_in_reasoning = true;
  auto m = parse_assistant_output("Okay, so 2+2 <is> 4 and then", o);
  EXPECT_EQ(m.reasoning_content, "Okay, so 2+2 <is> 4 and then");
  EXPECT_EQ(m.content, "");
}

TEST(Reasoning, StartsInReasoningToleratesARepeatedOpenTag) {
  ParseOptions o = reasoning();
  o.starts_in_reasoning = true;
  auto m = parse_assistant_output("<think>\nhmm\n</think>\nok", o);
  EXPECT_EQ(m.reasoning_content, "hmm");
  EXPECT_EQ(m.content, "ok");
}

TEST(Reasoning, ThenHermesCall) {
  auto m = parse_assistant_output(
      "<think>\nI should call get_weather. Not <tool_call> yet.\n</think>\n\n"
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>",
      reasoning(ToolCallFormat::Hermes, true));
  EXPECT_EQ(m.reasoning_content, "I should call get_weather. Not <tool_call> yet.");
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\":\"Rome\"}");
}

TEST(Reasoning, ThenLlamaBareJson) {
  ParseOptions o = reasoning(ToolCallFormat::Llama3Json, true);
  o.starts_in_reasoning = true;
  auto m = parse_assistant_output("Need the tool.\n</think>\n\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}", o);
  EXPECT_EQ(m.reasoning_content, "Need the tool.");
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\":1}");
}

TEST(Reasoning, WithToolsButNoCall) {
  auto m = parse_assistant_output("<think>short</think>Plain answer.", reasoning(ToolCallFormat::Mistral, true));
  EXPECT_EQ(m.reasoning_content, "short");
  EXPECT_EQ(m.content, "Plain answer.");
  EXPECT_TRUE(m.tool_calls.empty());
}

// ---- No parsing asked for ----

TEST(ToolCallsPlain, TextIsUnchanged) {
  const std::string text = "  \n Hello <tool_call> [TOOL_CALLS] {\"name\": \"f\"} \n\n";
  auto m = parse_assistant_output(text, ParseOptions{});
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
  EXPECT_EQ(m.reasoning_content, "");
}

TEST(ToolCallsPlain, InvalidUtf8NeverThrows) {
  const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"\xff\xfe\"}}\n</tool_call>";
  ParsedMessage m;
  EXPECT_NO_THROW(m = parse_assistant_output(text, tools(ToolCallFormat::Hermes)));
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}
