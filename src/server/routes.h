// The HTTP routes. Each handler reads the request, throws ApiError for a
// bad one (the HTTP layer answers with OpenAI's error object) and writes a
// JSON or event-stream response.
#pragma once

#include "server/server_state.h"

namespace httplib {
struct Request;
struct Response;
}

namespace kestrel::server {

// OpenAI.
void route_chat_completions(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_completions(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_models(ServerState& st, const httplib::Request& req, httplib::Response& res);
// llama-server's own.
void route_completion(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_tokenize(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_detokenize(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_apply_template(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_props(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_slots(ServerState& st, const httplib::Request& req, httplib::Response& res);
void route_metrics(ServerState& st, const httplib::Request& req, httplib::Response& res);
// The chat page.
void route_index(ServerState& st, const httplib::Request& req, httplib::Response& res);

}  // namespace kestrel::server
