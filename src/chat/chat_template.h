// A model's chat template: turns OpenAI-style messages (and tools) into the
// prompt text the model was trained on, with the Jinja interpreter
// (jinja.h) over the GGUF's `tokenizer.chat_template`, or a built-in
// template chosen by name (`--chat-template chatml`), or a file.
//
// Messages are normalised first as llama-server does: content given as an
// array of parts becomes their text joined by newlines (only "text" parts
// are accepted: an image part is an error naming it), a null content
// becomes an empty string for assistant messages with tool calls.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"

namespace kestrel::chat {

struct ChatRenderInput {
  nlohmann::json messages = nlohmann::json::array();
  nlohmann::json tools;  // null or an array of OpenAI tool objects
  bool add_generation_prompt = true;
  bool enable_thinking = true;  // Qwen3 / SmolLM3 switch, passed to the template
  nlohmann::json extra = nlohmann::json::object();  // chat_template_kwargs
};

class ChatTemplate {
 public:
  // source: Jinja text; bos/eos: the vocabulary's token texts.
  ChatTemplate(std::string source, std::string bos_token, std::string eos_token);

  // Built-in templates by name (chatml, llama2, llama3, mistral, gemma,
  // phi3, zephyr); throws kestrel::Error listing them for an unknown name.
  static std::string builtin_source(std::string_view name);
  static std::vector<std::string> builtin_names();

  // Renders the prompt; throws kestrel::Error for a malformed message
  // (naming the field) or a template error (naming the line).
  std::string render(const ChatRenderInput& in) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_, bos_, eos_;
  jinja::Template tmpl_;
};

// Validates and normalises OpenAI messages (see above); throws
// kestrel::Error naming the offending index and field.
nlohmann::json normalize_messages(const nlohmann::json& messages);

}  // namespace kestrel::chat
