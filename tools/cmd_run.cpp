// `kestrel run -m M.gguf -p "..." -n 128 [sampling flags] [-t N] [-c N]
//              [--context-shift [--keep N]]`
//
// Tokenizes the prompt, prefills it, then samples and streams tokens
// (holding back bytes of an incomplete UTF-8 character) until -n tokens,
// an end-of-generation token, a full context or a signal. A full context
// is said on stderr; with --context-shift the older half of the generated
// text is dropped instead (context_window.h). SIGINT/SIGTERM stop at a
// token boundary: the text so far, a newline and the speed line are
// printed and the exit status is 130/143 (a second signal exits at once,
// core/interrupt.h). Ends with one line of prompt and generation speed on
// stderr.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "core/cpu_features.h"
#include "context_window.h"
#include "core/interrupt.h"
#include "options.h"
#include "runtime/context.h"
#include "sampling/sampler.h"
#include "sampling_flags.h"
#include "tokenizer/utf8.h"

namespace kestrel::cli {
namespace {

struct RunOptions {
  std::string model_path, prompt, prompt_file;
  bool have_prompt = false, no_echo = false, context_shift = false;
  int64_t n_predict = 128, n_ctx = 0, keep = 0;
  int threads = 0;
  SamplingParams sp;
};

CommandLine run_command_line(RunOptions& o) {
  CommandLine cl;
  cl.name = "run";
  cl.usage = "run -m M.gguf (-p TEXT | -f FILE) [-n N] [-c N] [-t N] [--context-shift [--keep N]] [sampling]";
  cl.description =
      "Generates text from a prompt and streams it to stdout; the speed line goes to stderr.\n"
      "Ctrl-C stops at a token boundary (exit status 130); a second Ctrl-C exits at once.";
  cl.options = {
      model_option(o.model_path, "model to run"),
      int_option({"-n", "--n-predict"}, "N",
                 "tokens to generate (-1: until the context is full, or forever with --context-shift)", o.n_predict,
                 -1, INT32_MAX),
      ctx_size_option(o.n_ctx),
      threads_option(o.threads),
      switch_option({"--no-echo"}, "do not print the prompt before the generated text", o.no_echo),
      switch_option({"--context-shift"},
                    "when the context is full, drop the older half of the text after --keep tokens and go on "
                    "(recomputed, not shifted in place)",
                    o.context_shift),
      int_option({"--keep"}, "N", "prompt tokens (after BOS) a context shift never drops (-1: the whole prompt)",
                 o.keep, -1, INT32_MAX),
  };
  const auto prompt = prompt_options("prompt", o.prompt, o.prompt_file, o.have_prompt);
  cl.options.insert(cl.options.begin() + 1, prompt.begin(), prompt.end());
  for (Option& s : sampling_options(o.sp)) cl.options.push_back(std::move(s));
  cl.exclusive = {{"-p", "-f"}, {"--samplers", "--sampling-seq"}};
  return cl;
}

void check_run(RunOptions& o) {
  if (!o.have_prompt) throw Error("kestrel run: give a prompt with -p or -f");
  if (o.keep != 0 && !o.context_shift) std::fprintf(stderr, "warning: --keep has no effect without --context-shift\n");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Why generation ended, for the stderr report.
enum class Stop { Limit, EndOfGeneration, ContextFull, Signal };

struct Generation {
  int64_t n_gen = 0, n_decoded = 0;
  double seconds = 0;
  Stop stop = Stop::Limit;
};

// Streams pieces to stdout, holding back an incomplete UTF-8 character.
class Streamer {
 public:
  void add(const std::string& piece) {
    pending_ += piece;
    const size_t ok = tok::complete_utf8_prefix(pending_);
    if (ok == 0) return;
    std::fwrite(pending_.data(), 1, ok, stdout);
    std::fflush(stdout);
    pending_.erase(0, ok);
  }
  void finish() {
    std::fwrite(pending_.data(), 1, pending_.size(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }

 private:
  std::string pending_;
};

Generation generate(const RunOptions& o, Context& ctx, ContextWindow& win, SamplerChain& sampler,
                    const Tokenizer& tok, Streamer& out) {
  Generation g;
  const auto t1 = std::chrono::steady_clock::now();
  TokenId last = -1;  // emitted, not yet in the context
  for (;;) {
    if (o.n_predict >= 0 && g.n_gen >= o.n_predict) break;
    if (interrupt_signal() != 0) {
      g.stop = Stop::Signal;
      break;
    }
    if (last >= 0) {
      // Without a shift, prompt + generated tokens fit in the context: room
      // is needed for `last` and for the token it predicts.
      if (ctx.n_past() + 2 > ctx.n_ctx()) {
        if (!o.context_shift) {
          g.stop = Stop::ContextFull;
          break;
        }
        win.shift();
      }
      win.decode({&last, 1});
      ++g.n_decoded;
    } else if (!o.context_shift && ctx.n_past() + 1 > ctx.n_ctx()) {
      g.stop = Stop::ContextFull;
      break;
    }
    const TokenId next = sampler.sample(ctx.logits(0));
    sampler.accept(next);
    if (!o.sp.ignore_eos && tok.is_eog(next)) {
      g.stop = Stop::EndOfGeneration;
      break;
    }
    out.add(tok.token_to_piece(next));
    last = next;
    ++g.n_gen;
  }
  g.seconds = seconds_since(t1);
  return g;
}

}  // namespace

void validate_run_args(Args& args) { validate_options(args, run_command_line, check_run); }

int cmd_run(Args& args) {
  RunOptions o;
  if (!parse_options(args, o, run_command_line, check_run)) return 0;
  if (!o.prompt_file.empty()) o.prompt = read_file(o.prompt_file);

  const auto model = Model::load(o.model_path, o.threads);
  ContextParams cp;
  cp.n_ctx = o.n_ctx;
  cp.n_threads = o.threads;
  Context ctx(*model, cp);
  std::fprintf(stderr, "%s; kernels: %s\n", kv_cache_summary(ctx.engine().kv()).c_str(),
               std::string(isa_name(active_isa())).c_str());
  const Tokenizer& tok = model->tokenizer();
  const auto tokens = tok.encode(o.prompt, true, false);
  if (tokens.empty()) throw Error("the prompt produced no tokens");
  if (static_cast<int64_t>(tokens.size()) > ctx.n_ctx()) {
    throw Error("the prompt has " + std::to_string(tokens.size()) + " tokens but the context holds " +
                std::to_string(ctx.n_ctx()) + " (raise -c)");
  }
  const auto n_prompt = static_cast<int64_t>(tokens.size());
  const int64_t n_keep =
      o.context_shift ? resolve_keep(o.keep, n_prompt, tok.bos() >= 0 && tokens.front() == tok.bos(), ctx.n_ctx()) : 0;

  SamplerContext sctx;
  sctx.n_ctx = static_cast<int32_t>(ctx.n_ctx());
  sctx.eog_tokens.assign(tok.eog_ids().begin(), tok.eog_ids().end());
  sctx.token_to_piece = [&tok](int32_t id) { return tok.token_to_piece(id, true); };
  sctx.tokenize = [&tok](const std::string& s) { return tok.encode(s, false, false); };
  SamplerChain sampler(o.sp, static_cast<int32_t>(model->config().n_vocab), sctx);
  for (TokenId t : tokens) sampler.accept(t);
  ContextWindow win(ctx, n_keep, o.context_shift);  // before the echo: it may refuse --keep
  checkpoint("prompt");  // a signal during loading ends here, before any output
  if (!o.no_echo) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }

  const auto t0 = std::chrono::steady_clock::now();
  Streamer out;
  Generation g;
  try {
    win.decode(tokens);
  } catch (const Interrupted&) {
    g.stop = Stop::Signal;  // stopped during the prompt: still a clean end with the speed line
  }
  const double t_prompt = seconds_since(t0);
  if (g.stop != Stop::Signal) g = generate(o, ctx, win, sampler, tok, out);
  out.finish();
  if (g.stop == Stop::ContextFull) {
    std::fprintf(stderr,
                 "kestrel run: stopped: the context is full (%lld tokens: %lld of prompt, %lld generated); "
                 "raise -c or use --context-shift\n",
                 static_cast<long long>(ctx.n_ctx()), static_cast<long long>(n_prompt),
                 static_cast<long long>(g.n_gen));
  }
  if (win.n_shifts() > 0) {
    std::fprintf(stderr, "kestrel run: context shifted %lld times (kept %lld tokens, recomputed %lld)\n",
                 static_cast<long long>(win.n_shifts()), static_cast<long long>(n_keep),
                 static_cast<long long>(win.n_recomputed()));
  }
  // Generation speed counts decode steps (each also includes one sample),
  // the same quantity llama.cpp's eval timing reports.
  std::fprintf(stderr, "prompt: %zu tokens, %.2f t/s | generation: %lld tokens, %.2f t/s | %d threads\n",
               tokens.size(), t_prompt > 0 ? static_cast<double>(tokens.size()) / t_prompt : 0.0,
               static_cast<long long>(g.n_gen),
               g.seconds > 0 && g.n_decoded > 0 ? static_cast<double>(g.n_decoded) / g.seconds : 0.0,
               ctx.n_threads());
  if (g.stop == Stop::Signal) {
    std::fprintf(stderr, "kestrel run: interrupted by %s\n", signal_name(interrupt_signal()).c_str());
    return 128 + interrupt_signal();
  }
  return 0;
}

}  // namespace kestrel::cli
