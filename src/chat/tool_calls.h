// Parsers for what a chat model writes: tool calls in the formats of the
// template families kestrel knows (Hermes/Qwen `<tool_call>{json}</tool_call>`,
// Llama-3.x bare JSON `{"name": ..., "parameters": ...}` (also with the
// `<|python_tag|>` prefix), Mistral `[TOOL_CALLS][{...}]`, Granite 3.x
// `<|tool_call|>[{...}]`), and reasoning
// (`<think>...</think>`, Qwen3 / DeepSeek-R1) that goes to reasoning_content.
//
// parse_assistant_output() parses a whole answer; StreamingParser takes the
// text as it is generated and returns the OpenAI-style deltas that are safe
// to send now (text that may still become a marker is held back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel::chat {

enum class ToolCallFormat { None, Hermes, Llama3Json, Mistral, Granite };

// Picks the format from the chat template's source (its tool-call syntax).
ToolCallFormat detect_tool_call_format(std::string_view chat_template);
const char* tool_call_format_name(ToolCallFormat f);

// The template writes <think>...</think> reasoning (Qwen3, SmolLM3,
// DeepSeek-R1, Granite 3.3), so parse_reasoning is worth turning on.
bool template_has_reasoning(std::string_view chat_template);
// The rendered prompt itself ends inside an open <think> (DeepSeek-R1's
// generation prompt `<think>\n`): set ParseOptions::starts_in_reasoning.
bool prompt_opens_reasoning(std::string_view rendered_prompt);

struct ToolCall {
  std::string id;         // "call_<n>" style; unique within a response
  std::string name;
  std::string arguments;  // a JSON object as text (OpenAI's `arguments` string)
};

struct ParsedMessage {
  std::string content;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;
};

struct ParseOptions {
  ToolCallFormat format = ToolCallFormat::None;
  bool parse_tool_calls = false;  // only when the request listed tools
  bool parse_reasoning = false;   // split <think>...</think> out
  // The template opened <think> in the prompt itself (DeepSeek-R1 distills;
  // see prompt_opens_reasoning), so the answer starts inside the reasoning.
  // Only with parse_reasoning; a repeated <think> at the start is skipped.
  bool starts_in_reasoning = false;
  // Ids the model did not write are derived from this and a counter
  // ("call_" + 8 alphanumerics; Mistral: 9 alphanumerics, which its template
  // demands back). Vary it per request for ids unique across a conversation.
  std::uint64_t call_id_seed = 0;
};

// Text that does not parse as the format's tool call stays content (never
// throws). reasoning_content is stripped; content loses leading whitespace
// and whitespace next to a call (llama.cpp's rules); with neither parse_*
// option set, content is the text unchanged.
ParsedMessage parse_assistant_output(std::string_view text, const ParseOptions& opts);

// One piece of a streamed answer, in OpenAI's delta terms.
struct Delta {
  enum Kind { Content, Reasoning, ToolCallStart, ToolCallArguments } kind;
  std::string text;  // Content / Reasoning text; ToolCallArguments: a piece of the arguments
  int index = 0;     // tool call index (ToolCallStart / ToolCallArguments)
  std::string id, name;  // ToolCallStart
};

// Feeding an answer in any split and then calling finish() gives the same
// message() as parse_assistant_output() of the whole text (which is this
// parser fed at once), and the deltas concatenate to that message's fields.
// Llama3Json calls are only known at the end (the whole message must be
// calls), so an answer that opens with `{` / `<|python_tag|>` is held until
// it stops looking like calls or finish() comes.
class StreamingParser {
 public:
  explicit StreamingParser(const ParseOptions& opts);
  // Appends generated text; returns the deltas that can be sent now.
  std::vector<Delta> feed(std::string_view text);
  // End of generation: flushes what was held back.
  std::vector<Delta> finish();
  // The whole answer parsed so far (after finish(): the final message).
  const ParsedMessage& message() const { return message_; }

 private:
  enum class Mode { Start, Reasoning, Content, TaggedCall, AfterTagged, ArrayCall, BareCalls };
  // Where the JSON value being scanned stands (brackets, strings).
  struct JsonScan {
    bool started = false;
    std::size_t start = 0, pos = 0;
    int depth = 0;
    bool in_string = false, escape = false;
  };
  enum class ScanResult { Incomplete, Closed, StrayLt };

  bool step(bool final, std::vector<Delta>& out);
  bool step_start(bool final);
  bool step_reasoning(bool final, std::vector<Delta>& out);
  bool step_content(bool final, std::vector<Delta>& out);
  bool step_tagged(bool final, std::vector<Delta>& out);
  bool step_after_tagged(bool final);
  bool step_array(bool final, std::vector<Delta>& out);
  bool step_bare(bool final, std::vector<Delta>& out);
  ScanResult scan(std::size_t& at, bool stop_at_lt);
  void start_region(std::size_t region_start, std::size_t after_marker, Mode mode);
  void fall_back(std::size_t end, std::vector<Delta>& out);
  void add_content(std::string_view s, std::vector<Delta>& out);
  void add_reasoning(std::string_view s, std::vector<Delta>& out);
  bool make_call(std::string_view json, bool require_arguments, ToolCall& call) const;
  void commit_calls(std::vector<ToolCall> calls, std::vector<Delta>& out);
  std::string next_id();
  std::size_t skip_ws(std::size_t p) const;

  ParseOptions opts_;
  std::vector<std::string_view> markers_;  // tool-call openers in content
  std::string buf_;                        // the whole answer so far
  std::size_t pos_ = 0;                    // buf_[0, pos_) is decided
  ParsedMessage message_;
  Mode mode_ = Mode::Start;
  bool finished_ = false;
  bool hold_ws_ = false;        // whitespace next to a call is not content
  bool drop_leading_ = false;   // content whitespace here is dropped
  bool content_empty_ = true;   // no content and no call yet (Llama3 `{`)
  std::string ws_pending_;      // content whitespace not yet known to stay
  bool reasoning_started_ = false;
  bool maybe_open_tag_ = false; // starts_in_reasoning: skip a repeated <think>
  std::string reasoning_ws_;    // reasoning whitespace that may be trailing
  std::size_t region_start_ = 0;  // where the current call's text began
  JsonScan js_;
  bool key_checked_ = false;      // bare `{` was followed by `"`
  std::vector<ToolCall> bare_calls_;  // Llama3 calls waiting for the end
  std::uint64_t id_counter_ = 0;
};

}  // namespace kestrel::chat
