// Tool-call parsing pieces that do not depend on streaming: picking the
// format from a chat template's source, the reasoning hints, turning one
// call's JSON into a normalised ToolCall, and call ids. The state machine
// that splits an answer into content / reasoning / calls is in
// tool_call_stream.cpp; parse_assistant_output() runs it over the whole text,
// so the whole-message and streaming results cannot drift apart.
#include "chat/tool_calls.h"

#include <nlohmann/json.hpp>

namespace kestrel::chat {

namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// splitmix64: a bijection, so distinct counters give distinct 64-bit values.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string alnum(std::uint64_t x, int n) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += kDigits[x % 62];
    x /= 62;
  }
  return s;
}

// Models write their JSON; invalid UTF-8 in it must not make dump() throw.
std::string compact(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

ToolCallFormat detect_tool_call_format(std::string_view t) {
  // The most specific markers first: a template that writes Mistral's or
  // Granite's opener may still quote other syntaxes in its prose.
  if (contains(t, "[TOOL_CALLS]")) return ToolCallFormat::Mistral;
  if (contains(t, "<|tool_call|>")) return ToolCallFormat::Granite;
  if (contains(t, "<tool_call>")) return ToolCallFormat::Hermes;
  // Llama 3.1 names <|python_tag|>; 3.2 only describes the bare JSON
  // (`{"name": function name, "parameters": ...}`) in its Llama-3 framing.
  if (contains(t, "<|python_tag|>")) return ToolCallFormat::Llama3Json;
  if (contains(t, "<|start_header_id|>") && contains(t, "\"parameters\"")) return ToolCallFormat::Llama3Json;
  return ToolCallFormat::None;
}

const char* tool_call_format_name(ToolCallFormat f) {
  switch (f) {
    case ToolCallFormat::None: return "none";
    case ToolCallFormat::Hermes: return "hermes";
    case ToolCallFormat::Llama3Json: return "llama3_json";
    case ToolCallFormat::Mistral: return "mistral";
    case ToolCallFormat::Granite: return "granite";
  }
  return "unknown";
}

bool template_has_reasoning(std::string_view t) { return contains(t, "<think>") || contains(t, "</think>"); }

bool prompt_opens_reasoning(std::string_view p) {
  while (!p.empty() && (p.back() == ' ' || p.back() == '\n' || p.back() == '\r' || p.back() == '\t')) p.remove_suffix(1);
  return p.ends_with("<think>");
}

ParsedMessage parse_assistant_output(std::string_view text, const ParseOptions& opts) {
  StreamingParser p(opts);
  p.feed(text);
  p.finish();
  return p.message();
}

// One call object: {"name", "arguments"|"parameters", "id"?}, or the OpenAI
// shape {"type": "function", "function": {...}} some models copy from the
// prompt. Arguments end up as compact object text; a string holding an
// object's JSON counts as that object. Anything else is not a call.
bool StreamingParser::make_call(std::string_view text, bool require_arguments, ToolCall& call) const {
  try {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return false;
    const nlohmann::json* fn = &j;
    if (!j.contains("name") && j.contains("function") && j["function"].is_object()) fn = &j["function"];
    auto name = fn->find("name");
    if (name == fn->end() || !name->is_string() || name->get_ref<const std::string&>().empty()) return false;
    auto args = fn->find("arguments");
    if (args == fn->end()) args = fn->find("parameters");
    std::string arguments;
    if (args == fn->end() || args->is_null()) {
      // A bare Llama-3 object without arguments is more likely data than a call.
      if (require_arguments) return false;
      arguments = "{}";
    } else if (args->is_object()) {
      arguments = compact(*args);
    } else if (args->is_string()) {
      nlohmann::json inner = nlohmann::json::parse(args->get_ref<const std::string&>(), nullptr, false);
      if (!inner.is_object()) return false;
      arguments = compact(inner);
    } else {
      return false;
    }
    call.name = name->get<std::string>();
    call.arguments = std::move(arguments);
    call.id.clear();
    auto id = j.find("id");
    if (id != j.end() && id->is_string()) call.id = id->get<std::string>();
    return true;
  } catch (const std::exception&) {
    return false;  // never let a model's text throw out of the parser
  }
}

std::string StreamingParser::next_id() {
  for (;;) {
    const std::uint64_t x = mix(opts_.call_id_seed * 0x100000001b3ULL + id_counter_++);
    std::string id;
    if (opts_.format == ToolCallFormat::Mistral) {
      id = alnum(x, 9);
    } else {
      id = "call_";
      id += alnum(x, 8);
    }
    bool used = false;
    for (const auto& c : message_.tool_calls) used = used || c.id == id;
    for (const auto& c : bare_calls_) used = used || c.id == id;
    if (!used) return id;
  }
}

}  // namespace kestrel::chat
