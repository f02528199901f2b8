// The non-generating routes: /v1/models, /tokenize, /detokenize,
// /apply-template, /props, /slots and /metrics (Prometheus text).
#include <httplib.h>

#include <cstdio>

#include "server/api_error.h"
#include "server/request_fields.h"
#include "server/request_json.h"
#include "server/route_support.h"
#include "server/routes.h"

namespace kestrel::server {

using nlohmann::json;

void route_models(ServerState& st, const httplib::Request&, httplib::Response& res) {
  json m = {{"id", st.model_id}, {"object", "model"}, {"created", st.created}, {"owned_by", "kestrel"}};
  m["meta"] = {{"n_vocab", st.model->tokenizer().n_vocab()}, {"n_ctx_train", st.model->config().n_ctx_train},
               {"n_params", nullptr}};
  reply_json(res, {{"object", "list"}, {"data", json::array({m})}});
}

void route_tokenize(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_request_json(req.body, st.opt.max_json_depth);
  const Fields f(body, {"content", "add_special", "parse_special", "with_pieces"});
  const auto content = f.string("content");
  if (!content) throw bad_field("content", "required (a string)");
  const Tokenizer& tok = st.model->tokenizer();
  const auto ids = tok.encode(*content, f.boolean("add_special").value_or(false), f.boolean("parse_special").value_or(true));
  json tokens = json::array();
  const bool pieces = f.boolean("with_pieces").value_or(false);
  for (TokenId id : ids) {
    if (!pieces) {
      tokens.push_back(id);
      continue;
    }
    // A piece that is not valid UTF-8 alone (part of a character) is given as its bytes.
    const std::string p = tok.token_to_piece(id, true);
    json piece = p;
    try {
      (void)piece.dump();
    } catch (const json::type_error&) {
      piece = json::array();
      for (unsigned char c : p) piece.push_back(static_cast<int>(c));
    }
    tokens.push_back({{"id", id}, {"piece", piece}});
  }
  reply_json(res, {{"tokens", tokens}});
}

void route_detokenize(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_request_json(req.body, st.opt.max_json_depth);
  const Fields f(body, {"tokens"});
  if (!f.has("tokens") || !f.raw("tokens").is_array()) throw bad_field("tokens", "required (an array of token ids)");
  const Tokenizer& tok = st.model->tokenizer();
  std::vector<TokenId> ids;
  for (const json& t : f.raw("tokens")) {
    if (!t.is_number_integer()) throw bad_field("tokens", "expected integers");
    const int64_t id = t.get<int64_t>();
    if (id < 0 || id >= tok.n_vocab()) throw bad_field("tokens", "token id " + std::to_string(id) + " is outside the vocabulary");
    ids.push_back(static_cast<TokenId>(id));
  }
  reply_json(res, {{"content", tok.decode(ids, true)}});
}

void route_apply_template(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_request_json(req.body, st.opt.max_json_depth);
  const Fields f(body, {"messages", "tools", "add_generation_prompt", "chat_template_kwargs", "model"});
  if (!f.has("messages")) throw bad_field("messages", "required");
  chat::ChatRenderInput in;
  in.messages = f.raw("messages");
  if (f.has("tools")) in.tools = f.raw("tools");
  if (auto g = f.boolean("add_generation_prompt")) in.add_generation_prompt = *g;
  if (f.has("chat_template_kwargs")) {
    if (!f.raw("chat_template_kwargs").is_object()) throw bad_field("chat_template_kwargs", "expected an object");
    in.extra = f.raw("chat_template_kwargs");
  }
  try {
    reply_json(res, {{"prompt", st.chat_template->render(in)}});
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages");
  }
}

void route_props(ServerState& st, const httplib::Request&, httplib::Response& res) {
  const SamplingParams& p = st.opt.sampling;
  json gen = {{"n_ctx", st.scheduler->n_ctx_slot()}, {"temperature", p.temp},    {"top_k", p.top_k},
              {"top_p", p.top_p},                    {"min_p", p.min_p},         {"seed", p.seed == kRandomSeed ? -1 : static_cast<int64_t>(p.seed)},
              {"repeat_penalty", p.penalty_repeat},  {"repeat_last_n", p.penalty_last_n}};
  reply_json(res, {{"default_generation_settings", gen},
                   {"total_slots", st.scheduler->n_slots()},
                   {"model_path", st.opt.model_path},
                   {"model_alias", st.model_id},
                   {"chat_template", st.chat_template->source()},
                   {"tool_call_format", chat::tool_call_format_name(st.tool_format)},
                   {"build_info", "kestrel"}});
}

void route_slots(ServerState& st, const httplib::Request&, httplib::Response& res) {
  reply_json(res, st.scheduler->slots_json());
}

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "# HELP kestrel:%s %s\n# TYPE kestrel:%s %s\nkestrel:%s %.17g\n", name, help, name,
                type, name, value);
  out += buf;
}

}  // namespace

void route_metrics(ServerState& st, const httplib::Request&, httplib::Response& res) {
  const SchedulerStats s = st.scheduler->stats();
  const auto rate = [](int64_t n, double secs) { return secs > 0 ? static_cast<double>(n) / secs : 0.0; };
  std::string out;
  metric(out, "prompt_tokens_total", "counter", "Prompt tokens computed.", static_cast<double>(s.prompt_tokens));
  metric(out, "prompt_tokens_cached_total", "counter", "Prompt tokens taken from the prefix cache.", static_cast<double>(s.cached_tokens));
  metric(out, "tokens_predicted_total", "counter", "Tokens generated.", static_cast<double>(s.generated_tokens));
  metric(out, "prompt_seconds_total", "counter", "Wall time of steps that computed prompt tokens.", s.prompt_seconds);
  metric(out, "tokens_predicted_seconds_total", "counter", "Wall time of steps that only generated.", s.generation_seconds);
  metric(out, "prompt_tokens_seconds", "gauge", "Average prompt throughput (tokens/s).", rate(s.prompt_tokens, s.prompt_seconds));
  metric(out, "predicted_tokens_seconds", "gauge", "Average generation throughput (tokens/s).",
         rate(s.generated_tokens, s.generation_seconds + s.prompt_seconds));
  metric(out, "requests_processing", "gauge", "Busy slots.", s.busy_slots);
  metric(out, "requests_deferred", "gauge", "Requests waiting for a slot.", static_cast<double>(s.queued));
  metric(out, "requests_finished_total", "counter", "Requests finished.", static_cast<double>(s.requests_done));
  metric(out, "requests_cancelled_total", "counter", "Requests cancelled (client gone, shutdown).", static_cast<double>(s.requests_cancelled));
  metric(out, "requests_rejected_total", "counter", "Requests refused with 503 (queue full).", static_cast<double>(s.requests_rejected));
  metric(out, "decode_steps_total", "counter", "Forward passes.", static_cast<double>(s.steps));
  metric(out, "prefix_cache_lookups_total", "counter", "Prompt page blocks looked up in the prefix cache.", static_cast<double>(s.prefix_lookups));
  metric(out, "prefix_cache_hits_total", "counter", "Prompt page blocks found in the prefix cache.", static_cast<double>(s.prefix_hits));
  metric(out, "kv_cache_usage_ratio", "gauge", "Fraction of KV pages in use (sequences and prefix cache).", s.kv_used_ratio);
  metric(out, "http_requests_total", "counter", "HTTP requests received.", static_cast<double>(st.requests_total.load()));
  metric(out, "http_errors_total", "counter", "HTTP requests answered with an error status.", static_cast<double>(st.requests_errors.load()));
  res.set_content(out, "text/plain; version=0.0.4");
}

}  // namespace kestrel::server
