// ChatTemplate: message normalisation, the built-in templates, rendering.
#include "chat/chat_template.h"

#include <algorithm>
#include <array>
#include <utility>

namespace kestrel::chat {
namespace {

using nlohmann::json;

struct Builtin {
  const char* name;
  const char* source;
};

// Short templates of the common families, written for kestrel, for models
// whose GGUF carries none (or a broken one).
const std::array<Builtin, 7> kBuiltins = {{
    {"chatml",
     "{%- for m in messages -%}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
     "{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"},
    {"llama2",
     "{{ bos_token }}{%- for m in messages -%}{%- if m['role'] == 'system' -%}{{ '<<SYS>>\n' + m['content'] + "
     "'\n<</SYS>>\n\n' }}{%- elif m['role'] == 'user' -%}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
     "{%- else -%}{{ ' ' + m['content'] + ' ' + eos_token }}{%- endif -%}{%- endfor -%}"},
    {"llama3",
     "{{ bos_token }}{%- for m in messages -%}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + "
     "m['content'] | trim + '<|eot_id|>' }}{%- endfor -%}{%- if add_generation_prompt -%}"
     "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif -%}"},
    {"mistral",
     "{{ bos_token }}{%- for m in messages -%}{%- if m['role'] == 'user' -%}{{ '[INST] ' + m['content'] + "
     "'[/INST]' }}{%- elif m['role'] == 'system' -%}{{ '[SYSTEM_PROMPT]' + m['content'] + '[/SYSTEM_PROMPT]' }}"
     "{%- else -%}{{ m['content'] + eos_token }}{%- endif -%}{%- endfor -%}"},
    {"gemma",
     "{{ bos_token }}{%- for m in messages -%}{%- set role = 'model' if m['role'] == 'assistant' else 'user' -%}"
     "{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"},
    {"phi3",
     "{%- for m in messages -%}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}"},
    {"zephyr",
     "{%- for m in messages -%}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{ '<|assistant|>\n' }}{%- endif -%}"},
}};

std::string at(size_t i, const char* field) {
  std::string s = "messages[";
  s += std::to_string(i);
  s += "].";
  s += field;
  return s;
}

// Text parts joined by newlines; any other part type is refused by name.
std::string content_text(const json& parts, size_t i) {
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    const json& p = parts[k];
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      throw Error(at(i, "content") + ": each part must be an object with a \"type\"");
    }
    const std::string type = p["type"].get<std::string>();
    if (type != "text") throw Error(at(i, "content") + ": part type '" + type + "' is not supported (text only)");
    if (!p.contains("text") || !p["text"].is_string()) throw Error(at(i, "content") + ": a text part needs \"text\"");
    if (k > 0) out += '\n';
    out += p["text"].get<std::string>();
  }
  return out;
}

}  // namespace

json normalize_messages(const json& messages) {
  if (!messages.is_array()) throw Error("messages: expected an array");
  if (messages.empty()) throw Error("messages: must not be empty");
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    if (!m.is_object()) throw Error("messages[" + std::to_string(i) + "]: expected an object");
    if (!m.contains("role") || !m["role"].is_string()) throw Error(at(i, "role") + ": expected a string");
    const std::string role = m["role"].get<std::string>();
    static const std::array<const char*, 6> kRoles = {"system", "user", "assistant", "tool", "developer", "function"};
    if (std::none_of(kRoles.begin(), kRoles.end(), [&](const char* r) { return role == r; })) {
      throw Error(at(i, "role") + ": unknown role '" + role + "'");
    }
    json n = m;
    const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
    if (has_calls && !m["tool_calls"].is_array()) throw Error(at(i, "tool_calls") + ": expected an array");
    if (!m.contains("content") || m["content"].is_null()) {
      if (role != "assistant") throw Error(at(i, "content") + ": missing");
      n["content"] = "";
    } else if (m["content"].is_array()) {
      n["content"] = content_text(m["content"], i);
    } else if (!m["content"].is_string()) {
      throw Error(at(i, "content") + ": expected a string or an array of parts");
    }
    if (has_calls) {
      // Templates read arguments as objects (tojson); OpenAI sends a string.
      for (json& c : n["tool_calls"]) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
          throw Error(at(i, "tool_calls") + ": each call needs a \"function\" object");
        }
        json& f = c["function"];
        if (f.contains("arguments") && f["arguments"].is_string()) {
          json parsed = json::parse(f["arguments"].get<std::string>(), nullptr, false);
          if (!parsed.is_discarded()) f["arguments"] = std::move(parsed);
        }
      }
    }
    out.push_back(std::move(n));
  }
  return out;
}

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : source_(std::move(source)), bos_(std::move(bos_token)), eos_(std::move(eos_token)), tmpl_(source_) {}

std::string ChatTemplate::builtin_source(std::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (name == b.name) return b.source;
  }
  std::string list;
  for (const Builtin& b : kBuiltins) {
    if (!list.empty()) list += ", ";
    list += b.name;
  }
  throw Error("unknown chat template '" + std::string(name) + "' (built-in: " + list + ")");
}

std::vector<std::string> ChatTemplate::builtin_names() {
  std::vector<std::string> v;
  for (const Builtin& b : kBuiltins) v.emplace_back(b.name);
  return v;
}

std::string ChatTemplate::render(const ChatRenderInput& in) const {
  json ctx = in.extra.is_object() ? in.extra : json::object();
  ctx["messages"] = normalize_messages(in.messages);
  if (in.tools.is_array() && !in.tools.empty()) ctx["tools"] = in.tools;
  ctx["add_generation_prompt"] = in.add_generation_prompt;
  ctx["bos_token"] = bos_;
  ctx["eos_token"] = eos_;
  if (!ctx.contains("enable_thinking")) ctx["enable_thinking"] = in.enable_thinking;
  return tmpl_.render(ctx);
}

}  // namespace kestrel::chat
