// The server against clients nobody here wrote: the official `openai` npm
// package (tests/js/openai_client.mjs) and the chat page in headless
// Chromium driven by playwright-core (tests/js/webui.mjs). Each test starts
// a TestServer and runs `node tests/js/<script>.mjs URL KEY`; the script
// exits 0 when every check passes and prints what failed otherwise.
//
// Skipped (with the reason) when node, tests/js/node_modules (run
// `npm ci` in tests/js) or, for the page, /usr/bin/chromium is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "models/synth.h"
#include "server_fixture.h"

namespace kestrel::test {
namespace {

namespace fs = std::filesystem;

// tests/js, from this file's path (tests/unit/server/...).
fs::path js_dir() { return fs::path(__FILE__).parent_path().parent_path().parent_path() / "js"; }

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool have_command(const char* name) {
  const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Why the JS tests cannot run here, or empty.
std::string missing_js_prerequisite() {
  if (!have_command("node")) return "node is not installed (scripts/install-deps.sh installs it)";
  for (const char* pkg : {"openai", "playwright-core"}) {
    if (!fs::exists(js_dir() / "node_modules" / pkg / "package.json")) {
      return "tests/js/node_modules/" + std::string(pkg) + " is missing (run `npm ci` in " + js_dir().string() + ")";
    }
  }
  return "";
}

struct RunResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string output;
};

// Runs `node tests/js/<script> args...` (stdout and stderr together), killed
// after timeout_s.
RunResult run_node(const std::string& script, const std::vector<std::string>& args, int timeout_s) {
  std::string cmd = "cd ";
  cmd += quoted(js_dir().string());
  cmd += " && ";
  if (have_command("timeout")) {
    cmd += "timeout -k 5 ";
    cmd += std::to_string(timeout_s);
    cmd += ' ';
  }
  cmd += "node ";
  cmd += quoted(script);
  for (const auto& a : args) {
    cmd += ' ';
    cmd += quoted(a);
  }
  cmd += " 2>&1";
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    r.output = "popen failed for: " + cmd;
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  if (r.status == 124) r.output += "\n[killed after " + std::to_string(timeout_s) + " s]";
  return r;
}

// A chatml template that offers tools Hermes-style (the built-in chatml has
// no tool syntax); its "<tool_call>" makes detect_tool_call_format pick Hermes.
const char* const kHermesTemplate = R"JINJA({%- if tools %}<|im_start|>system
You may call functions. Their signatures, within <tools></tools>:
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>
For each call, write a JSON object with the name and arguments within <tool_call></tool_call> tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{% endif %}
{%- for message in messages %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %})JINJA";

// For the chat page: a wider, deeper "tiny" (~46M parameters, still a
// 512-token vocabulary) trained for 8192 positions. The tiny model itself
// runs at thousands of tokens/s: its answers end (context full) before the
// page can click Stop, and a stream that fast keeps the page's main thread
// busy. This one streams at a chat-like pace for many seconds.
std::string make_chat_pace_model() {
  const std::string path = temp_path("chat_pace_Q8_0.gguf");
  if (fs::exists(path)) return path;
  static SynthShape shape = *find_synth_shape("tiny");
  shape.name = "tiny-chat-pace";
  shape.n_embd = 1024;
  shape.n_layer = 4;
  shape.n_ff = 2816;
  shape.n_ctx = 8192;
  SynthOptions opt;
  opt.shape = &shape;
  opt.file_type = find_file_type("Q8_0");
  opt.n_threads = 2;
  write_synthetic_model(opt, path);
  return path;
}

// Tokens whose pieces spell `text` exactly. encode() does for most
// vocabularies; the synthetic SentencePiece one has no "▁" piece, so a space
// is encoded as the bytes of "▁" (and comes back as "▁"): byte tokens then.
std::vector<TokenId> tokens_spelling(const Tokenizer& tok, const std::string& text) {
  std::vector<TokenId> ids = tok.encode(text, false, false);
  std::string back;
  for (TokenId id : ids) back += tok.token_to_piece(id);
  if (back == text) return ids;
  ids.clear();
  for (unsigned char c : text) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", c);
    TokenId found = -1;
    for (TokenId id = 0; id < tok.n_vocab() && found < 0; ++id) {
      if (tok.token_text(id) == name) found = id;
    }
    if (found < 0) throw Error(std::string("no byte token ") + name + " to spell the forced output");
    ids.push_back(found);
  }
  return ids;
}

TEST(ServerJsClients, OfficialOpenAiPackage) {
  if (const std::string why = missing_js_prerequisite(); !why.empty()) GTEST_SKIP() << why;
  const std::string template_path = temp_path("hermes_tools.jinja");
  std::ofstream(template_path) << kHermesTemplate;

  server::ServerOptions o = tiny_server_options();
  o.n_parallel = 2;
  o.n_ctx = 2 * 2048;  // the tools' system prompt alone is ~560 tokens of the tiny vocabulary
  o.api_key = "sk-kestrel-js-test";
  o.alias = "tiny-js";
  o.chat_template = template_path;
  // Filled in once the model is loaded (requests only come after that): a
  // prompt mentioning the weather gets this tool call as its answer.
  struct Forced {
    std::atomic<bool> ready{false};
    const Tokenizer* tok = nullptr;
    std::vector<TokenId> call;
  };
  auto forced = std::make_shared<Forced>();
  o.request_hook = [forced](server::GenerationRequest& r) {
    if (!forced->ready.load() || forced->tok->decode(r.prompt).find("weather") == std::string::npos) return;
    r.forced_output = forced->call;
    r.n_predict = static_cast<int64_t>(r.forced_output.size());  // end right after the call
  };
  TestServer srv(o);
  ASSERT_EQ(srv.state().tool_format, chat::ToolCallFormat::Hermes);
  forced->tok = &srv.state().model->tokenizer();
  forced->call = tokens_spelling(
      *forced->tok, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
  forced->ready.store(true);

  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/v1";
  const RunResult r = run_node("openai_client.mjs", {url, o.api_key}, 40);
  EXPECT_EQ(r.status, 0) << "node openai_client.mjs " << url << " failed; its output:\n" << r.output;
}

TEST(ServerJsClients, ChatPageInHeadlessChromium) {
  if (const std::string why = missing_js_prerequisite(); !why.empty()) GTEST_SKIP() << why;
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "/usr/bin/chromium is missing (apt-get install chromium)";

  server::ServerOptions o = tiny_server_options();
  o.model_path = make_chat_pace_model();
  o.n_parallel = 1;
  o.n_ctx = 8192;  // the longest an answer can run
  o.sampling.ignore_eos = true;
  // The answer runs until the page's Stop (or the context is full).
  o.request_hook = [](server::GenerationRequest& r) {
    r.sampling.ignore_eos = true;
    r.n_predict = 100000;
  };
  TestServer srv(o);

  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/";
  const RunResult r = run_node("webui.mjs", {url}, 45);
  EXPECT_EQ(r.status, 0) << "node webui.mjs " << url << " failed; its output:\n" << r.output;

  // Stop reached the server: the generation was cancelled and decoding
  // stopped.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (srv.state().scheduler->stats().requests_cancelled == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const server::SchedulerStats s = srv.state().scheduler->stats();
  EXPECT_EQ(s.requests_cancelled, 1) << "the page's Stop should cancel its generation";
  EXPECT_EQ(s.requests_done, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(srv.state().scheduler->stats().steps, s.steps) << "the model still runs after Stop";
  std::printf("chat page: %lld tokens generated in %.2f s before Stop\n", static_cast<long long>(s.generated_tokens),
              s.generation_seconds + s.prompt_seconds);
}

}  // namespace
}  // namespace kestrel::test
