// POST /v1/chat/completions: messages through the chat template, one task
// per choice, tool calls and reasoning parsed from the output (chat/tool_calls.h),
// JSON or a chunk stream.
#include <httplib.h>

#include "server/api_error.h"
#include "server/chat_setup.h"
#include "server/request_fields.h"
#include "server/request_json.h"
#include "server/request_sampling.h"
#include "server/route_support.h"
#include "server/routes.h"
#include "server/sse_stream.h"

namespace kestrel::server {
namespace {

using nlohmann::json;

struct ChatRequest {
  GenerationRequest gen;
  int n = 1;
  bool stream = false, include_usage = false, top_logprobs = false;
  chat::ParseOptions parse;
};

const std::set<std::string>& chat_fields() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s = sampling_field_names();
    for (const char* f : {"model", "messages", "max_tokens", "max_completion_tokens", "n_predict", "stream",
                          "stream_options", "stop", "logprobs", "top_logprobs", "n", "user", "tools", "tool_choice",
                          "parallel_tool_calls", "response_format", "chat_template_kwargs", "cache_prompt",
                          "reasoning_format", "add_generation_prompt"}) {
      s.insert(f);
    }
    return s;
  }();
  return names;
}

void read_tools(const Fields& f, chat::ChatRenderInput& in, bool& use_tools) {
  use_tools = false;
  if (!f.has("tools")) {
    if (f.has("tool_choice")) throw bad_field("tool_choice", "given without tools");
    return;
  }
  const json& tools = f.raw("tools");
  if (!tools.is_array()) throw bad_field("tools", "expected an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object() ||
        !t["function"].contains("name") || !t["function"]["name"].is_string()) {
      throw bad_field(where, "expected {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": ...}}");
    }
  }
  std::string choice = "auto";
  if (f.has("tool_choice")) {
    const json& c = f.raw("tool_choice");
    if (!c.is_string()) throw bad_field("tool_choice", "forcing a function needs grammar-constrained output (not supported yet); use \"auto\" or \"none\"");
    choice = c.get<std::string>();
    if (choice == "required") throw bad_field("tool_choice", "\"required\" needs grammar-constrained output (not supported yet)");
    if (choice != "auto" && choice != "none") throw bad_field("tool_choice", "expected \"auto\" or \"none\"");
  }
  if (choice == "none" || tools.empty()) return;
  in.tools = tools;
  use_tools = true;
}

ChatRequest parse_chat(ServerState& st, const json& body) {
  const Fields f(body, chat_fields());
  ChatRequest r;
  r.gen.sampling = st.opt.sampling;
  if (f.has("model")) (void)f.string("model");
  if (!f.has("messages")) throw bad_field("messages", "required");
  chat::ChatRenderInput in;
  in.messages = f.raw("messages");
  bool use_tools = false;
  read_tools(f, in, use_tools);
  if (auto g = f.boolean("add_generation_prompt")) in.add_generation_prompt = *g;
  if (f.has("chat_template_kwargs")) {
    if (!f.raw("chat_template_kwargs").is_object()) throw bad_field("chat_template_kwargs", "expected an object");
    in.extra = f.raw("chat_template_kwargs");
  }
  if (f.has("response_format")) {
    const json& rf = f.raw("response_format");
    if (!rf.is_object() || rf.value("type", "") != "text") {
      throw bad_field("response_format", "only {\"type\": \"text\"} is supported (JSON output needs grammars, not supported yet)");
    }
  }
  std::string rendered;
  try {
    rendered = st.chat_template->render(in);
  } catch (const jinja::RaisedError& e) {
    throw ApiError(400, std::string("the chat template refused the conversation: ") + e.what(), "messages");
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages");
  }
  const Tokenizer& tok = st.model->tokenizer();
  r.gen.prompt = tokenize_chat_prompt(tok, rendered);
  if (r.gen.prompt.empty()) throw bad_field("messages", "the rendered prompt is empty");

  read_sampling_fields(f, tok.n_vocab(), r.gen);
  if (auto m = f.integer("max_tokens", 1, INT32_MAX)) r.gen.n_predict = *m;
  if (auto m = f.integer("max_completion_tokens", 1, INT32_MAX)) r.gen.n_predict = *m;
  if (auto m = f.integer("n_predict", -1, INT32_MAX)) r.gen.n_predict = *m;
  r.gen.stop = f.strings("stop", 16);
  if (auto s = f.boolean("stream")) r.stream = *s;
  r.include_usage = read_include_usage(f);
  r.gen.logprobs = f.boolean("logprobs").value_or(false);
  if (auto top = f.integer("top_logprobs", 0, 20)) {
    if (!r.gen.logprobs) throw bad_field("top_logprobs", "needs \"logprobs\": true");
    r.gen.n_probs = static_cast<int>(*top);
    r.top_logprobs = true;
  }
  r.n = static_cast<int>(f.integer("n", 1, 16).value_or(1));
  if (auto c = f.boolean("cache_prompt")) r.gen.cache_prompt = *c;
  if (f.has("parallel_tool_calls")) (void)f.boolean("parallel_tool_calls");
  if (f.has("user")) (void)f.string("user");
  const std::string reasoning = f.string("reasoning_format").value_or("auto");
  if (reasoning != "auto" && reasoning != "none" && reasoning != "deepseek") {
    throw bad_field("reasoning_format", "expected \"auto\", \"deepseek\" or \"none\"");
  }
  r.parse.format = st.tool_format;
  r.parse.parse_tool_calls = use_tools;
  r.parse.call_id_seed = st.next_id.fetch_add(1);  // tool-call ids differ between responses
  r.parse.parse_reasoning = reasoning != "none" && chat::template_has_reasoning(st.chat_template->source());
  r.parse.starts_in_reasoning = r.parse.parse_reasoning && chat::prompt_opens_reasoning(rendered);
  check_context(st, r.gen, true);
  return r;
}

json tool_calls_json(const std::vector<chat::ToolCall>& calls) {
  json a = json::array();
  for (const auto& c : calls) {
    a.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return a;
}

json message_json(const chat::ParsedMessage& m) {
  json msg = {{"role", "assistant"}};
  msg["content"] = m.content.empty() && !m.tool_calls.empty() ? json(nullptr) : json(m.content);
  if (!m.reasoning_content.empty()) msg["reasoning_content"] = m.reasoning_content;
  if (!m.tool_calls.empty()) msg["tool_calls"] = tool_calls_json(m.tool_calls);
  return msg;
}

class ChatStream : public SseFormatter {
 public:
  ChatStream(ServerState& st, const ChatRequest& r, std::string id)
      : st_(st), r_(r), id_(std::move(id)), created_(std::time(nullptr)) {
    for (int i = 0; i < r.n; ++i) parsers_.emplace_back(r.parse);
  }
  void begin(std::vector<std::string>& out) override {
    for (int i = 0; i < r_.n; ++i) out.push_back(chunk(i, {{"role", "assistant"}, {"content", ""}}, json(nullptr)));
  }
  void event(size_t i, const TaskEvent& e, std::vector<std::string>& out) override {
    json lp = r_.gen.logprobs && !e.tokens.empty() ? chat_logprobs_json(st_, e.tokens, r_.top_logprobs) : json(nullptr);
    const auto deltas = parsers_[i].feed(e.text);
    if (deltas.empty() && !lp.is_null()) out.push_back(chunk(i, {{"content", ""}}, json(nullptr), lp));
    for (size_t k = 0; k < deltas.size(); ++k) out.push_back(chunk(i, delta_json(deltas[k]), json(nullptr), k == 0 ? lp : json(nullptr)));
  }
  void finish(size_t i, const TaskSummary& s, std::vector<std::string>& out) override {
    summaries_.push_back(s);
    if (s.reason == FinishReason::Timeout || s.reason == FinishReason::Error || s.reason == FinishReason::Cancelled) {
      try {
        throw_if_failed(s);
      } catch (const ApiError& e) {
        out.push_back(to_json_text(error_body(e.status(), e.what())));
      }
      return;
    }
    for (const auto& d : parsers_[i].finish()) out.push_back(chunk(i, delta_json(d), json(nullptr)));
    const bool calls = !parsers_[i].message().tool_calls.empty();
    out.push_back(chunk(i, json::object(), calls ? "tool_calls" : openai_finish_reason(s.reason)));
  }
  void end(std::vector<std::string>& out) override {
    if (!r_.include_usage) return;
    json j = base();
    j["choices"] = json::array();
    j["usage"] = usage_json(summaries_);
    out.push_back(to_json_text(j));
  }

 private:
  json base() const {
    return {{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", st_.model_id}};
  }
  std::string chunk(size_t i, json delta, json finish, json logprobs = nullptr) const {
    json j = base();
    j["choices"] = json::array({{{"index", i}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)}, {"finish_reason", std::move(finish)}}});
    return to_json_text(j);
  }
  static json delta_json(const chat::Delta& d) {
    switch (d.kind) {
      case chat::Delta::Content: return {{"content", d.text}};
      case chat::Delta::Reasoning: return {{"reasoning_content", d.text}};
      case chat::Delta::ToolCallStart:
        return {{"tool_calls", json::array({{{"index", d.index}, {"id", d.id}, {"type", "function"},
                                               {"function", {{"name", d.name}, {"arguments", ""}}}}})}};
      case chat::Delta::ToolCallArguments:
        return {{"tool_calls", json::array({{{"index", d.index}, {"function", {{"arguments", d.text}}}}})}};
    }
    return json::object();
  }
  ServerState& st_;
  ChatRequest r_;
  std::string id_;
  std::time_t created_;
  std::vector<chat::StreamingParser> parsers_;
  std::vector<TaskSummary> summaries_;
};

}  // namespace

void route_chat_completions(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  ChatRequest r = parse_chat(st, parse_request_json(req.body, st.opt.max_json_depth));
  std::vector<GenerationRequest> gens;
  for (int i = 0; i < r.n; ++i) {
    gens.push_back(r.gen);
    if (r.gen.sampling.seed != kRandomSeed) gens.back().sampling.seed += static_cast<uint32_t>(i);
  }
  auto tasks = submit_all(st, std::move(gens));
  const std::string id = make_id(st, "chatcmpl-");
  if (r.stream) {
    respond_sse(res, std::move(tasks), std::make_shared<ChatStream>(st, r, id), &st.active_streams);
    return;
  }
  std::vector<TaskEvent> outputs;
  std::vector<TaskSummary> sums;
  wait_for_all(tasks, outputs, sums);
  json choices = json::array();
  for (size_t i = 0; i < tasks.size(); ++i) {
    const chat::ParsedMessage m = chat::parse_assistant_output(outputs[i].text, r.parse);
    json c = {{"index", i}, {"message", message_json(m)}};
    c["logprobs"] = r.gen.logprobs ? chat_logprobs_json(st, outputs[i].tokens, r.top_logprobs) : json(nullptr);
    c["finish_reason"] = m.tool_calls.empty() ? openai_finish_reason(sums[i].reason) : "tool_calls";
    choices.push_back(std::move(c));
  }
  json j = {{"id", id}, {"object", "chat.completion"}, {"created", std::time(nullptr)}, {"model", st.model_id}};
  j["choices"] = std::move(choices);
  j["usage"] = usage_json(sums);
  reply_json(res, j);
}

}  // namespace kestrel::server
