// `kestrel chat -m M.gguf [-sys TEXT] [-n N] [-c N] [--chat-template NAME|FILE] [sampling]`
//
// llama-cli's conversation mode: each line on stdin is a user message; the
// whole conversation goes through the model's chat template and the answer
// streams to stdout. Each turn reuses the KV cache of the previous ones
// (only the tokens after the longest common prefix with the cache are
// computed). Ctrl-C stops the current answer, not the program; EOF (Ctrl-D)
// exits; Ctrl-C while waiting for input, or twice, exits too.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "commands.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "options.h"
#include "runtime/context.h"
#include "sampling/sampler.h"
#include "sampling_flags.h"
#include "server/chat_setup.h"
#include "server/stop_filter.h"

namespace kestrel::cli {
namespace {

struct ChatOptions {
  std::string model_path, system_prompt, chat_template;
  int64_t n_predict = -1, n_ctx = 0;
  int threads = 0;
  SamplingParams sp;
};

CommandLine chat_command_line(ChatOptions& o) {
  CommandLine cl;
  cl.name = "chat";
  cl.usage = "chat -m M.gguf [-sys TEXT] [-n N] [-c N] [--chat-template NAME|FILE] [sampling]";
  cl.description =
      "Interactive chat in the terminal with the model's chat template: one line per user message.\n"
      "Ctrl-C stops the current answer; Ctrl-D (end of input) exits.";
  cl.options = {
      model_option(o.model_path, "model to chat with"),
      string_option({"-sys", "--system-prompt"}, "TEXT", "system message at the start of the conversation",
                    o.system_prompt),
      int_option({"-n", "--n-predict"}, "N", "tokens per answer at most (-1: until the model ends it)", o.n_predict,
                 -1, INT32_MAX),
      ctx_size_option(o.n_ctx),
      threads_option(o.threads),
      string_option({"--chat-template"}, "NAME|FILE", "a built-in template name or a Jinja file (default: the model's)",
                    o.chat_template),
  };
  for (Option& s : sampling_options(o.sp)) cl.options.push_back(std::move(s));
  cl.exclusive = {{"--samplers", "--sampling-seq"}};
  return cl;
}

// Brings the context to `prompt`: keeps the longest common prefix with what
// it holds (at least one token is recomputed, for fresh logits). Returns
// how many prompt tokens were reused.
size_t sync_context(Context& ctx, std::vector<TokenId>& held, const std::vector<TokenId>& prompt) {
  size_t keep = 0;
  while (keep < held.size() && keep < prompt.size() && held[keep] == prompt[keep]) ++keep;
  if (keep == prompt.size()) --keep;
  ctx.truncate(static_cast<int64_t>(keep));
  held.resize(keep);
  const std::vector<TokenId> rest(prompt.begin() + static_cast<std::ptrdiff_t>(keep), prompt.end());
  ctx.decode(rest, false);
  held.insert(held.end(), rest.begin(), rest.end());
  return keep;
}

// Streams one answer; returns its text. Stops at an end-of-generation
// token, -n tokens, a full context or Ctrl-C.
std::string answer(const ChatOptions& o, Context& ctx, std::vector<TokenId>& held, SamplerChain& chain,
                   const Tokenizer& tok) {
  std::string text;
  server::StopFilter utf8;  // no stop strings: only whole UTF-8 characters are printed
  for (int64_t n = 0; o.n_predict < 0 || n < o.n_predict; ++n) {
    if (interrupt_signal() != 0) {
      acknowledge_interrupt();
      std::fputs(" [stopped]", stdout);
      break;
    }
    const TokenId t = chain.sample(ctx.logits(0));
    if (tok.is_eog(t)) break;
    chain.accept(t);
    const std::string out = utf8.add(tok.token_to_piece(t));
    text += out;
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (ctx.n_past() + 2 > ctx.n_ctx()) {
      std::fputs(" [context full]", stdout);
      break;
    }
    ctx.decode(std::vector<TokenId>{t}, false);
    held.push_back(t);
  }
  const std::string rest = utf8.flush();
  text += rest;
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  return text;
}

}  // namespace

void validate_chat_args(Args& args) {
  ChatOptions o;
  parse_options(args, o, chat_command_line, nullptr, false);
}

int cmd_chat(Args& args) {
  ChatOptions o;
  if (!parse_options(args, o, chat_command_line, nullptr)) return 0;
  require_readable_input(o.model_path);
  const auto model = Model::load(o.model_path, o.threads);
  const Tokenizer& tok = model->tokenizer();
  const auto tmpl = server::load_chat_template(*model, o.chat_template);
  ContextParams cp;
  cp.n_ctx = o.n_ctx;
  cp.n_threads = o.threads;
  Context ctx(*model, cp);
  SamplerContext sc;
  sc.n_ctx = static_cast<int32_t>(ctx.n_ctx());
  sc.eog_tokens.assign(tok.eog_ids().begin(), tok.eog_ids().end());
  SamplerChain chain(o.sp, tok.n_vocab(), sc);
  const bool tty = ::isatty(0) != 0;
  chat::ChatRenderInput in;
  if (!o.system_prompt.empty()) in.messages.push_back({{"role", "system"}, {"content", o.system_prompt}});
  std::vector<TokenId> held;
  std::string line;
  size_t turns = 0, computed = 0, reused = 0;
  const auto report = [&] {
    std::fprintf(stderr, "kestrel chat: %zu turn%s; prompt tokens computed %zu, reused from the cache %zu\n", turns,
                 turns == 1 ? "" : "s", computed, reused);
  };
  for (;;) {
    if (tty) std::fputs("\n> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (interrupt_signal() != 0) {  // Ctrl-C at the prompt
      report();
      return 128 + interrupt_signal();
    }
    if (line.empty()) continue;
    in.messages.push_back({{"role", "user"}, {"content", line}});
    const std::vector<TokenId> prompt = server::tokenize_chat_prompt(tok, tmpl->render(in));
    if (static_cast<int64_t>(prompt.size()) + 1 >= ctx.n_ctx()) {
      throw Error("the conversation (" + std::to_string(prompt.size()) + " tokens) no longer fits the context (-c " +
                  std::to_string(ctx.n_ctx()) + ")");
    }
    const size_t kept = sync_context(ctx, held, prompt);
    reused += kept;
    computed += prompt.size() - kept;
    ++turns;
    const std::string reply = answer(o, ctx, held, chain, tok);
    in.messages.push_back({{"role", "assistant"}, {"content", reply}});
  }
  report();
  return 0;
}

}  // namespace kestrel::cli
