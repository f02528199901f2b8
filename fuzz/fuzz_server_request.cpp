// libFuzzer target: the server's request validation. The input is a request
// body; it goes through the JSON limits (request_json.h), the typed field
// checks and the sampling fields (request_fields.h, request_sampling.h),
// message normalisation (chat_template.h) and the stop-string filter over
// the body's own bytes. kestrel::Error (every ApiError) is the expected
// outcome for bad input; anything else escaping, a crash, a leak or UB is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chat/chat_template.h"
#include "server/api_error.h"
#include "server/request_fields.h"
#include "server/request_json.h"
#include "server/request_sampling.h"
#include "server/stop_filter.h"

namespace {

using nlohmann::json;
using namespace kestrel::server;

const std::set<std::string>& all_fields() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s = sampling_field_names();
    for (const char* f : {"model", "messages", "prompt", "max_tokens", "n_predict", "stream", "stream_options", "stop",
                          "logprobs", "top_logprobs", "n", "user", "tools", "tool_choice", "content", "tokens"}) {
      s.insert(f);
    }
    return s;
  }();
  return names;
}

void exercise(std::string_view body) {
  const json j = parse_request_json(body, 64);
  const Fields f(j, all_fields());
  GenerationRequest r;
  read_sampling_fields(f, 32000, r);
  (void)f.integer("max_tokens", 1, INT32_MAX);
  (void)f.boolean("stream");
  (void)f.string("model");
  if (f.has("messages")) (void)kestrel::chat::normalize_messages(f.raw("messages"));
  const auto stops = f.strings("stop", 16);
  StopFilter filter(stops);
  std::string out;
  for (size_t i = 0; i < body.size(); i += 3) out += filter.add(std::string(body.substr(i, 3)));
  out += filter.flush();
  if (out.size() > body.size()) __builtin_trap();  // the filter only ever removes text
  (void)to_json_text(json(out));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    exercise(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const kestrel::Error&) {
  }
  return 0;
}
