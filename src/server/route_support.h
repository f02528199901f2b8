// Helpers the generation routes share: prompts to tokens, the context
// check, submitting (503 with Retry-After when the queue is full), ids,
// usage and log-prob objects.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/server_state.h"
#include "server/task.h"

namespace httplib { struct Response; }

namespace kestrel::server {

class Fields;

// A prompt given as a string, an array of token ids, or an array mixing
// strings and ids (llama-server's form); `field` names it in errors.
std::vector<TokenId> tokenize_prompt(const ServerState& st, const nlohmann::json& prompt, const std::string& field,
                                     bool add_special);

// 400 when the prompt cannot fit in a slot or (strict, OpenAI routes)
// prompt + max_tokens exceed it.
void check_context(const ServerState& st, const GenerationRequest& r, bool strict);

// Submits; throws a 503 ApiError (the HTTP layer adds Retry-After) when the queue is full.
std::shared_ptr<Task> submit(ServerState& st, GenerationRequest r);
// Submits every request (one per choice); when one is refused, cancels the
// ones already queued and rethrows.
std::vector<std::shared_ptr<Task>> submit_all(ServerState& st, std::vector<GenerationRequest> gens);
// Non-streaming: waits for every task; throws the first failure's HTTP error.
void wait_for_all(const std::vector<std::shared_ptr<Task>>& tasks, std::vector<TaskEvent>& outputs,
                  std::vector<TaskSummary>& summaries);

// OpenAI's stream_options: {"include_usage": bool}, nothing else.
bool read_include_usage(const Fields& f);

std::string make_id(ServerState& st, const char* prefix);

nlohmann::json usage_json(const std::vector<TaskSummary>& s);

// OpenAI chat logprobs: {"content": [{token, logprob, bytes, top_logprobs}]}
nlohmann::json chat_logprobs_json(const ServerState& st, const std::vector<TokenLogprob>& t, bool top);
// Legacy completions logprobs: {tokens, token_logprobs, top_logprobs, text_offset}
nlohmann::json completion_logprobs_json(const ServerState& st, const std::vector<TokenLogprob>& t, size_t text_offset0);

// Maps a finished task to its HTTP failure, if it failed (timeout 504,
// shutdown 503, error 500); returns normally when it succeeded.
void throw_if_failed(const TaskSummary& s);

const char* openai_finish_reason(FinishReason r);

void reply_json(httplib::Response& res, const nlohmann::json& j, int status = 200);

}  // namespace kestrel::server
