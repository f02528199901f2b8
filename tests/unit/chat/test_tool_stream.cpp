// StreamingParser: what each feed() may send right away, what it holds
// back, and the property the server relies on: for any split of an answer
// into pieces, the final message() equals parse_assistant_output() of the
// whole text, and the deltas sent concatenate to exactly that message.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "chat/tool_calls.h"

using namespace kestrel::chat;

namespace {

ParseOptions opts(ToolCallFormat f, bool tools, bool reasoning, bool starts_in_reasoning = false) {
  ParseOptions o;
  o.format = f;
  o.parse_tool_calls = tools;
  o.parse_reasoning = reasoning;
  o.starts_in_reasoning = starts_in_reasoning;
  return o;
}

// A message rebuilt from the deltas alone.
struct Replay {
  ParsedMessage msg;
  std::string error;

  void add(const std::vector<Delta>& ds) {
    for (const Delta& d : ds) {
      switch (d.kind) {
        case Delta::Content: msg.content += d.text; break;
        case Delta::Reasoning: msg.reasoning_content += d.text; break;
        case Delta::ToolCallStart:
          if (d.index != static_cast<int>(msg.tool_calls.size())) error = "start index out of order";
          msg.tool_calls.push_back(ToolCall{d.id, d.name, ""});
          break;
        case Delta::ToolCallArguments:
          if (d.index < 0 || d.index >= static_cast<int>(msg.tool_calls.size())) error = "arguments before start";
          else msg.tool_calls[d.index].arguments += d.text;
          break;
      }
    }
  }
};

std::string describe(const ParsedMessage& m) {
  std::string s = "content=[";
  s += m.content;
  s += "] reasoning=[";
  s += m.reasoning_content;
  s += "]";
  for (const auto& c : m.tool_calls) {
    s += " call(";
    s += c.id;
    s += ",";
    s += c.name;
    s += ",";
    s += c.arguments;
    s += ")";
  }
  return s;
}

bool same(const ParsedMessage& a, const ParsedMessage& b) {
  if (a.content != b.content || a.reasoning_content != b.reasoning_content) return false;
  if (a.tool_calls.size() != b.tool_calls.size()) return false;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    const auto &x = a.tool_calls[i], &y = b.tool_calls[i];
    if (x.id != y.id || x.name != y.name || x.arguments != y.arguments) return false;
  }
  return true;
}

// Feeds text cut at `cuts` (increasing positions) and checks both halves of
// the property against the whole-text parse.
void check_split(const std::string& text, const ParseOptions& o, const std::vector<size_t>& cuts,
                 const ParsedMessage& whole, const std::string& label) {
  StreamingParser p(o);
  Replay r;
  size_t at = 0;
  for (size_t c : cuts) {
    r.add(p.feed(std::string_view(text).substr(at, c - at)));
    at = c;
  }
  r.add(p.feed(std::string_view(text).substr(at)));
  r.add(p.finish());
  ASSERT_TRUE(same(p.message(), whole)) << label << "\n text: " << text << "\n streamed: " << describe(p.message())
                                        << "\n whole:    " << describe(whole);
  ASSERT_TRUE(r.error.empty()) << label << ": " << r.error << "\n text: " << text;
  ASSERT_TRUE(same(r.msg, whole)) << label << " (deltas)\n text: " << text << "\n deltas: " << describe(r.msg)
                                  << "\n whole:  " << describe(whole);
}

void check_all_splits(const std::string& text, const ParseOptions& o, std::mt19937& rng, bool every_pair) {
  const ParsedMessage whole = parse_assistant_output(text, o);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
  check_split(text, o, cuts, whole, "1-char pieces");
  if (::testing::Test::HasFatalFailure()) return;
  if (every_pair) {
    for (size_t i = 0; i <= text.size(); ++i) {
      check_split(text, o, {i}, whole, "cut at " + std::to_string(i));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  for (int trial = 0; trial < 8; ++trial) {
    std::vector<size_t> rc;
    std::uniform_int_distribution<size_t> step(1, 9);
    for (size_t i = step(rng); i < text.size(); i += step(rng)) rc.push_back(i);
    check_split(text, o, rc, whole, "random pieces");
    if (::testing::Test::HasFatalFailure()) return;
  }
}

struct Case {
  ParseOptions o;
  std::string text;
};

std::vector<Case> recorded_cases() {
  const auto H = ToolCallFormat::Hermes, L = ToolCallFormat::Llama3Json, M = ToolCallFormat::Mistral,
             G = ToolCallFormat::Granite, N = ToolCallFormat::None;
  const std::string hcall = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": [1, 2]}}\n</tool_call>";
  return {
      {opts(H, true, false), hcall},
      {opts(H, true, false), "Let me check.\n\n" + hcall + "\n" + hcall},
      {opts(H, true, false), hcall + "\n\nAnd some words after.\n"},
      {opts(H, true, false), "I'll try <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call> oops"},
      {opts(H, true, false), "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"k\\\": \\\"v\\\"}\"}\n</tool_call>"},
      {opts(H, true, false), "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"</tool_call> } { \\\" \"}}</tool_call>"},
      {opts(H, true, false), "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}"},
      {opts(H, true, false), "text <tool_call>\n{\"name\": \"f\", \"argu"},
      {opts(H, true, false), "a < b and <tool_ca are not markers, <tool_call> alone is not either"},
      {opts(H, true, false), "trailing partial <tool_call"},
      {opts(H, true, false), "  spaced  out \n\n text \n"},
      {opts(H, false, false), "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n"},
      {opts(H, true, true), "<think>\nShould I call it? <tool_call> no.\n</think>\n\n" + hcall},
      {opts(H, true, true), "<think>\n\n</think>\n\nSure thing.\n"},
      {opts(H, true, true, true), "I think so.\n</think>\n\nAnswer: yes\n" + hcall},
      {opts(L, true, false), "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Oslo\"}}"},
      {opts(L, true, false), "<|python_tag|>{\"name\": \"f\", \"arguments\": {\"a\": {\"b\": \"ü\"}}}"},
      {opts(L, true, false), "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 1}}\n{\"name\": \"c\", \"parameters\": {}}\n"},
      {opts(L, true, false), "{\"name\": \"f\", \"parameters\": {}} but then prose"},
      {opts(L, true, false), "{\"name\": \"Bob\"} is a JSON object."},
      {opts(L, true, false), "{curly} prose"},
      {opts(L, true, false), "Calling it: <|python_tag|>{\"name\": \"f\", \"parameters\": {}}"},
      {opts(L, true, false), "The answer is 42; {\"name\": \"f\", \"parameters\": {}}"},
      {opts(L, true, false), "   {\"name\": \"f\", \"parameters\": {\"a\": \"unclosed\""},
      {opts(L, true, true, true), "Reasoning here.</think>\n\n{\"name\": \"f\", \"parameters\": {\"q\": 1}}"},
      {opts(M, true, false), "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1}, \"id\": \"abc123xyz\"}, {\"name\": \"g\", \"arguments\": {}}]"},
      {opts(M, true, false), "Sure.[TOOL_CALLS] [{\"name\": \"say\", \"arguments\": {\"t\": \"naïve ✓\"}}]"},
      {opts(M, true, false), "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, {\"nom\": 1}] and text"},
      {opts(M, true, false), "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1}}"},
      {opts(M, true, false), "[TOOL_CALLS] not json [TOOL_"},
      {opts(G, true, false), "<|tool_call|>[{\"name\": \"get_stock\", \"arguments\": {\"ticker\": \"IBM\"}}]"},
      {opts(G, true, true), "<think>Let me see.</think><|tool_call|>[{\"name\": \"f\", \"arguments\": {}}, {\"name\": \"g\", \"arguments\": {\"n\": 2}}]"},
      {opts(N, false, true), "<think>\nThe user wants 2+2.\nThat is 4.\n</think>\n\n2 + 2 = 4."},
      {opts(N, false, true), "<think>\nunterminated thoughts   \n"},
      {opts(N, false, true), "  <thin k> is not a tag"},
      {opts(N, false, true, true), "<think>\nrepeated tag\n</think>\nok"},
      {opts(N, false, true, true), "never closed </thin"},
      {opts(N, false, false), "  \n plain <think> text </think> <tool_call> \n"},
  };
}

}  // namespace

TEST(ToolStream, RecordedOutputsInEverySplit) {
  std::mt19937 rng(7);
  for (const Case& c : recorded_cases()) {
    SCOPED_TRACE(c.text);
    check_all_splits(c.text, c.o, rng, /*every_pair=*/true);
    if (HasFatalFailure()) return;
  }
}

// Random answers built from markers, JSON pieces and text, for every format
// and option mix: the split must never change the result.
TEST(ToolStream, RandomOutputsInEverySplit) {
  const std::vector<std::string> atoms = {
      "<tool_call>", "</tool_call>", "<think>", "</think>", "[TOOL_CALLS]", "<|tool_call|>", "<|python_tag|>",
      "{\"name\": \"f\", \"arguments\": {\"a\": 1}}", "{\"name\": \"g\", \"parameters\": {}}",
      "[{\"name\": \"h\", \"arguments\": {\"s\": \"]}\"}}]", "{", "}", "[", "]", "\"", "\\", ";", "\n", " ", "  ",
      "x", "word", "<", "<tool", "</", "[TOOL", "é", "{\"", "\"name\"", ":", ","};
  const ToolCallFormat formats[] = {ToolCallFormat::None, ToolCallFormat::Hermes, ToolCallFormat::Llama3Json,
                                    ToolCallFormat::Mistral, ToolCallFormat::Granite};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, atoms.size() - 1), len(0, 14);
  for (ToolCallFormat f : formats) {
    for (int mix = 0; mix < 6; ++mix) {
      const ParseOptions o = opts(f, mix % 2 == 0, mix >= 2, mix >= 4);
      for (int n = 0; n < 60; ++n) {
        std::string text;
        for (size_t k = len(rng); k > 0; --k) text += atoms[pick(rng)];
        check_all_splits(text, o, rng, /*every_pair=*/false);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(ToolStream, ContentIsSentAtOnceAndMarkersAreHeld) {
  StreamingParser p(opts(ToolCallFormat::Hermes, true, false));
  auto d = p.feed("Hello, <tool");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Content);
  EXPECT_EQ(d[0].text, "Hello,");  // the space may sit before a call
  d = p.feed("_call>\n{\"name\": \"f\", \"arguments\": {\"a\":  1}");
  EXPECT_TRUE(d.empty());  // the object is not closed yet
  d = p.feed("}\n</tool");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].kind, Delta::ToolCallStart);
  EXPECT_EQ(d[0].index, 0);
  EXPECT_EQ(d[0].name, "f");
  EXPECT_EQ(d[0].id, "call_LWNqGF8E");
  EXPECT_EQ(d[1].kind, Delta::ToolCallArguments);
  EXPECT_EQ(d[1].index, 0);
  EXPECT_EQ(d[1].text, "{\"a\":1}");
  EXPECT_TRUE(p.feed("_call>\n").empty());
  EXPECT_TRUE(p.finish().empty());
  EXPECT_EQ(p.message().content, "Hello,");
  ASSERT_EQ(p.message().tool_calls.size(), 1u);
  EXPECT_TRUE(p.feed("more").empty());  // after finish() nothing changes
  EXPECT_EQ(p.message().content, "Hello,");
}

TEST(ToolStream, APrefixThatIsNotAMarkerIsReleased) {
  StreamingParser p(opts(ToolCallFormat::Mistral, true, false));
  auto d = p.feed("see [TOOL");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text, "see");
  d = p.feed("S] list");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text, " [TOOLS] list");
  EXPECT_TRUE(p.finish().empty());
  EXPECT_EQ(p.message().content, "see [TOOLS] list");
}

TEST(ToolStream, ReasoningStreamsIncrementally) {
  StreamingParser p(opts(ToolCallFormat::None, false, true));
  auto d = p.feed("<think>\nstep one");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Reasoning);
  EXPECT_EQ(d[0].text, "step one");
  d = p.feed(" and two\n</thi");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Reasoning);
  EXPECT_EQ(d[0].text, " and two");  // "\n" may be trailing, "</thi" may close
  d = p.feed("nk>\n\nThe answer");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Content);
  EXPECT_EQ(d[0].text, "The answer");
  EXPECT_TRUE(p.finish().empty());
  EXPECT_EQ(p.message().reasoning_content, "step one and two");
  EXPECT_EQ(p.message().content, "The answer");
}

TEST(ToolStream, StartsInReasoningStreamsReasoningFirst) {
  StreamingParser p(opts(ToolCallFormat::Hermes, true, true, true));
  auto d = p.feed("Okay, the user");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Reasoning);
  EXPECT_EQ(d[0].text, "Okay, the user");
  p.feed(" asks.</think>\n\nHi");
  auto f = p.finish();
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(p.message().reasoning_content, "Okay, the user asks.");
  EXPECT_EQ(p.message().content, "Hi");
}

TEST(ToolStream, LlamaBareJsonIsHeldUntilTheEnd) {
  StreamingParser p(opts(ToolCallFormat::Llama3Json, true, false));
  EXPECT_TRUE(p.feed("{\"name\": \"f\", ").empty());
  EXPECT_TRUE(p.feed("\"parameters\": {\"a\": 1}}").empty());  // prose could still follow
  auto d = p.finish();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].kind, Delta::ToolCallStart);
  EXPECT_EQ(d[0].name, "f");
  EXPECT_EQ(d[1].text, "{\"a\":1}");
  EXPECT_EQ(p.message().content, "");
}

TEST(ToolStream, LlamaProseOpeningWithABraceIsReleasedEarly) {
  StreamingParser p(opts(ToolCallFormat::Llama3Json, true, false));
  EXPECT_TRUE(p.feed("{").empty());
  auto d = p.feed("x} marks");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Content);
  EXPECT_EQ(d[0].text, "{x} marks");
  d = p.feed(" the {\"name\": \"f\", \"parameters\": {}}");  // no longer at the start: content
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text, " the {\"name\": \"f\", \"parameters\": {}}");
  EXPECT_TRUE(p.finish().empty());
}

TEST(ToolStream, LlamaPlainAnswerStreams) {
  StreamingParser p(opts(ToolCallFormat::Llama3Json, true, false));
  auto d = p.feed("Paris is");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text, "Paris is");
}

TEST(ToolStream, WithoutParsingPiecesPassThrough) {
  StreamingParser p(ParseOptions{});
  for (std::string piece : {"  <tool", "_call> ", "<think>", "\n"}) {
    auto d = p.feed(piece);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].text, piece);
  }
  EXPECT_TRUE(p.finish().empty());
  EXPECT_EQ(p.message().content, "  <tool_call> <think>\n");
}

TEST(ToolStream, FinishFlushesAnUnterminatedCallAsContent) {
  StreamingParser p(opts(ToolCallFormat::Hermes, true, false));
  auto d = p.feed("Sure <tool_call>\n{\"name\": \"f\"");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].text, "Sure");
  d = p.finish();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Delta::Content);
  EXPECT_EQ(d[0].text, " <tool_call>\n{\"name\": \"f\"");
  EXPECT_EQ(p.message().content, "Sure <tool_call>\n{\"name\": \"f\"");
}

TEST(ToolStream, TwoCallsGetIncreasingIndices) {
  StreamingParser p(opts(ToolCallFormat::Granite, true, false));
  auto d = p.feed("<|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": [1]}}]");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].kind, Delta::ToolCallStart);
  EXPECT_EQ(d[0].index, 0);
  EXPECT_EQ(d[0].name, "a");
  EXPECT_EQ(d[1].text, "{}");
  EXPECT_EQ(d[2].kind, Delta::ToolCallStart);
  EXPECT_EQ(d[2].index, 1);
  EXPECT_EQ(d[2].name, "b");
  EXPECT_EQ(d[3].index, 1);
  EXPECT_EQ(d[3].text, "{\"x\":[1]}");
  EXPECT_NE(d[0].id, d[2].id);
}
