// Shared pieces of the generation routes.
#include "server/route_support.h"

#include <httplib.h>

#include "server/api_error.h"
#include "server/request_fields.h"

namespace kestrel::server {

using nlohmann::json;

std::vector<TokenId> tokenize_prompt(const ServerState& st, const json& prompt, const std::string& field,
                                     bool add_special) {
  const Tokenizer& tok = st.model->tokenizer();
  std::vector<TokenId> out;
  if (prompt.is_string()) {
    out = tok.encode(prompt.get<std::string>(), add_special, true);
  } else if (prompt.is_array()) {
    bool first = true;
    for (const json& p : prompt) {
      if (p.is_string()) {
        auto part = tok.encode(p.get<std::string>(), add_special && first, true);
        out.insert(out.end(), part.begin(), part.end());
      } else if (p.is_number_integer()) {
        const int64_t id = p.get<int64_t>();
        if (id < 0 || id >= tok.n_vocab()) throw bad_field(field, "token id " + std::to_string(id) + " is outside the vocabulary");
        out.push_back(static_cast<TokenId>(id));
      } else {
        throw bad_field(field, "expected a string, token ids, or a mix of both");
      }
      first = false;
    }
  } else {
    throw bad_field(field, "expected a string or an array");
  }
  if (out.empty()) throw bad_field(field, "the prompt is empty");
  return out;
}

void check_context(const ServerState& st, const GenerationRequest& r, bool strict) {
  const int64_t n_ctx = st.scheduler->n_ctx_slot();
  const auto n = static_cast<int64_t>(r.prompt.size());
  if (n >= n_ctx) {
    throw ApiError(400, "the prompt is " + std::to_string(n) + " tokens, longer than the context of a slot (" +
                            std::to_string(n_ctx) + " tokens)");
  }
  if (strict && r.n_predict > 0 && n + r.n_predict > n_ctx) {
    throw ApiError(400, "prompt (" + std::to_string(n) + " tokens) + max_tokens (" + std::to_string(r.n_predict) +
                            ") exceed the context of a slot (" + std::to_string(n_ctx) + " tokens)",
                   "max_tokens");
  }
}

std::shared_ptr<Task> submit(ServerState& st, GenerationRequest r) {
  if (st.opt.request_timeout_s > 0) {
    r.deadline = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(st.opt.request_timeout_s * 1000));
  }
  if (st.opt.request_hook) st.opt.request_hook(r);
  auto t = std::make_shared<Task>(std::move(r));
  if (!st.scheduler->submit(t)) throw ApiError(503, "the server is busy (request queue full); retry later");
  return t;
}

std::vector<std::shared_ptr<Task>> submit_all(ServerState& st, std::vector<GenerationRequest> gens) {
  std::vector<std::shared_ptr<Task>> tasks;
  try {
    for (auto& g : gens) tasks.push_back(submit(st, std::move(g)));
  } catch (...) {
    for (auto& t : tasks) t->cancel();
    throw;
  }
  return tasks;
}

void wait_for_all(const std::vector<std::shared_ptr<Task>>& tasks, std::vector<TaskEvent>& outputs,
                  std::vector<TaskSummary>& summaries) {
  for (const auto& t : tasks) {
    outputs.push_back(t->wait_all());
    summaries.push_back(t->summary());
  }
  for (const TaskSummary& s : summaries) throw_if_failed(s);
}

bool read_include_usage(const Fields& f) {
  if (!f.has("stream_options")) return false;
  const json& so = f.raw("stream_options");
  if (!so.is_object()) throw bad_field("stream_options", "expected an object");
  bool include = false;
  for (const auto& [k, v] : so.items()) {
    if (k != "include_usage") throw bad_field("stream_options." + k, "unsupported field");
    if (!v.is_boolean()) throw bad_field("stream_options.include_usage", "expected true or false");
    include = v.get<bool>();
  }
  return include;
}

std::string make_id(ServerState& st, const char* prefix) {
  std::string id = prefix;
  id += std::to_string(static_cast<unsigned long long>(st.created));
  id += '-';
  id += std::to_string(st.next_id.fetch_add(1));
  return id;
}

json usage_json(const std::vector<TaskSummary>& s) {
  int64_t prompt = 0, gen = 0, cached = 0;
  for (const TaskSummary& x : s) {
    prompt += x.n_prompt;
    gen += x.n_generated;
    cached += x.n_cached;
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", gen},
          {"total_tokens", prompt + gen},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

namespace {

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

}  // namespace

json chat_logprobs_json(const ServerState& st, const std::vector<TokenLogprob>& t, bool top) {
  const Tokenizer& tok = st.model->tokenizer();
  json content = json::array();
  for (const TokenLogprob& x : t) {
    const std::string piece = tok.token_to_piece(x.token, true);
    json e = {{"token", piece}, {"logprob", x.logprob}, {"bytes", bytes_of(piece)}};
    json tops = json::array();
    if (top) {
      for (const auto& [id, lp] : x.top) {
        const std::string p = tok.token_to_piece(id, true);
        tops.push_back({{"token", p}, {"logprob", lp}, {"bytes", bytes_of(p)}});
      }
    }
    e["top_logprobs"] = tops;
    content.push_back(std::move(e));
  }
  return {{"content", content}};
}

json completion_logprobs_json(const ServerState& st, const std::vector<TokenLogprob>& t, size_t text_offset0) {
  const Tokenizer& tok = st.model->tokenizer();
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t off = text_offset0;
  for (const TokenLogprob& x : t) {
    const std::string piece = tok.token_to_piece(x.token, true);
    tokens.push_back(piece);
    lps.push_back(x.logprob);
    json top = json::object();
    for (const auto& [id, lp] : x.top) top[tok.token_to_piece(id, true)] = lp;
    tops.push_back(top);
    offsets.push_back(off);
    off += piece.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

void throw_if_failed(const TaskSummary& s) {
  switch (s.reason) {
    case FinishReason::Timeout: throw ApiError(504, "the request took longer than the server's request timeout");
    case FinishReason::Cancelled: throw ApiError(503, "the server is shutting down");
    case FinishReason::Error: throw ApiError(500, "generation failed: " + s.error);
    default: return;
  }
}

const char* openai_finish_reason(FinishReason r) { return r == FinishReason::Length ? "length" : "stop"; }

void reply_json(httplib::Response& res, const json& j, int status) {
  res.status = status;
  res.set_content(to_json_text(j), "application/json; charset=utf-8");
}

}  // namespace kestrel::server
