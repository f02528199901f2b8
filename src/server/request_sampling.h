// Reading a request's sampling and generation fields (OpenAI's names and
// llama-server's) into a GenerationRequest, starting from the server's
// defaults; every value is range-checked with a 400 naming the field.
#pragma once

#include <set>
#include <string>

#include "server/request_fields.h"
#include "server/task.h"

namespace kestrel::server {

// The sampling fields every generation route accepts.
const std::set<std::string>& sampling_field_names();

void read_sampling_fields(const Fields& f, int32_t n_vocab, GenerationRequest& r);

// logit_bias as OpenAI's {"id": bias} object or llama-server's [[id, bias]]
// array (false as a bias bans the token).
void read_logit_bias(const nlohmann::json& v, int32_t n_vocab, SamplingParams& p);

}  // namespace kestrel::server
