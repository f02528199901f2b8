// libFuzzer target for the Jinja chat-template interpreter (src/chat/jinja).
//
// The input is a template source, optionally followed by a NUL byte and a
// JSON context; without one (or when it does not parse as an object) a fixed
// chat context is used: messages with system/user/assistant/tool roles, tool
// calls, tools, bos/eos tokens. Parsing and rendering may fail only with
// kestrel::Error (TemplateError / RaisedError); any other exception, a
// crash, a sanitizer report, a leak or a hang is a finding. Limits are set
// low so each execution stays fast while the limit paths are exercised.
//
// Seeds: the shared real templates, e.g.
//   build-fuzz/fuzz/fuzz_jinja -dict=fuzz/jinja.dict -max_total_time=600 -timeout=10 \
//       fuzz/corpus-run/jinja ../shared/data/templates
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"
#include "core/error.h"

namespace {

const nlohmann::json& fixed_context() {
  static const nlohmann::json ctx = nlohmann::json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true,
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Hi \"there\" <b>&</b> é 東京"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "tool_call_id": "call12345", "content": "18 degrees"},
      {"role": "assistant", "content": "<think>\nhm\n</think>\n\nIt is 18."},
      {"role": "user", "content": "Thanks"}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "n": 3, "f": 2.5, "none": null, "flags": [true, false]
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view source = in.substr(0, nul);
  nlohmann::json ctx = fixed_context();
  if (nul != std::string_view::npos) {
    nlohmann::json parsed = nlohmann::json::parse(in.substr(nul + 1), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) ctx = std::move(parsed);
  }
  kestrel::jinja::RenderOptions opts;
  opts.now = 1795219200;
  opts.max_output_bytes = 1 << 20;
  opts.max_loop_iterations = 20000;  // loop iterations and macro calls together
  opts.max_recursion = 100;
  try {
    kestrel::jinja::Template t(source);
    std::string out = t.render(ctx, opts);
    if (out.size() > opts.max_output_bytes) {
      std::fprintf(stderr, "fuzz_jinja: output over the limit (%zu bytes)\n", out.size());
      std::abort();
    }
  } catch (const kestrel::Error&) {
  }
  return 0;
}
