// `kestrel run -m M.gguf -p "..." -n 128 [sampling flags] [-t N] [-c N]`
//
// Tokenizes the prompt, prefills it as one batch, then samples and streams
// tokens (holding back bytes of an incomplete UTF-8 character) until -n
// tokens or an end-of-generation token. Ends with one line of prompt and
// generation speed on stderr.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "runtime/context.h"
#include "sampling/sampler.h"
#include "sampling_flags.h"

namespace kestrel::cli {
namespace {

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary.
size_t complete_utf8_prefix(const std::string& s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4) {
    const auto c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) {  // a lead byte (or ASCII)
      const size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      return back + 1 >= need ? s.size() : i - 1;
    }
    --i;
    ++back;
  }
  return s.size();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_run(Args& args) {
  std::string model_path, prompt;
  bool have_prompt = false, echo = true;
  int64_t n_predict = 128, n_ctx = 0;
  int threads = 0;
  SamplingParams sp;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: kestrel run -m M.gguf (-p TEXT | -f FILE) [-n N] [-t N] [-c N] [--no-echo]\n"
          "sampling:\n%s",
          sampling_flags_help().c_str());
      return 0;
    }
    if (a == "-m" || a == "--model") model_path = args.value(a);
    else if (a == "-p" || a == "--prompt") prompt = args.value(a), have_prompt = true;
    else if (a == "-f" || a == "--file") prompt = read_file(args.value(a)), have_prompt = true;
    else if (a == "-n" || a == "--n-predict") n_predict = args.int_value(a, -1, INT32_MAX);
    else if (a == "-t" || a == "--threads") threads = static_cast<int>(args.int_value(a, 1, 1024));
    else if (a == "-c" || a == "--ctx-size") n_ctx = args.int_value(a, 0, 1 << 24);
    else if (a == "--no-echo") echo = false;
    else if (!parse_sampling_flag(a, [&] { return args.value(a); }, sp)) Args::unknown("run", a);
  }
  if (model_path.empty()) throw Error("kestrel run: -m MODEL.gguf is required");
  if (!have_prompt) throw Error("kestrel run: give a prompt with -p or -f");

  const auto model = Model::load(model_path, threads);
  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_threads = threads;
  Context ctx(*model, cp);
  const Tokenizer& tok = model->tokenizer();
  const auto tokens = tok.encode(prompt, true, false);
  if (tokens.empty()) throw Error("the prompt produced no tokens");
  if (static_cast<int64_t>(tokens.size()) > ctx.n_ctx()) {
    throw Error("the prompt has " + std::to_string(tokens.size()) + " tokens but the context holds " +
                std::to_string(ctx.n_ctx()) + " (raise -c)");
  }
  if (n_predict < 0) n_predict = ctx.n_ctx() - static_cast<int64_t>(tokens.size());
  n_predict = std::min<int64_t>(n_predict, ctx.n_ctx() - static_cast<int64_t>(tokens.size()));

  SamplerContext sctx;
  sctx.n_ctx = static_cast<int32_t>(ctx.n_ctx());
  sctx.eog_tokens.assign(tok.eog_ids().begin(), tok.eog_ids().end());
  sctx.token_to_piece = [&tok](int32_t id) { return tok.token_to_piece(id, true); };
  sctx.tokenize = [&tok](const std::string& s) { return tok.encode(s, false, false); };
  SamplerChain sampler(sp, static_cast<int32_t>(model->config().n_vocab), sctx);
  for (TokenId t : tokens) sampler.accept(t);
  if (echo) {
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
  }

  const auto t0 = std::chrono::steady_clock::now();
  ctx.decode(tokens, false);
  const double t_prompt = seconds_since(t0);

  std::string pending;
  int64_t n_gen = 0, n_decoded = 0;
  const auto t1 = std::chrono::steady_clock::now();
  for (; n_gen < n_predict; ++n_gen) {
    const TokenId next = sampler.sample(ctx.logits(0));
    sampler.accept(next);
    if (!sp.ignore_eos && tok.is_eog(next)) break;
    pending += tok.token_to_piece(next);
    const size_t ok = complete_utf8_prefix(pending);
    if (ok > 0) {
      std::fwrite(pending.data(), 1, ok, stdout);
      std::fflush(stdout);
      pending.erase(0, ok);
    }
    if (n_gen + 1 < n_predict) {
      ctx.decode({&next, 1}, false);
      ++n_decoded;
    }
  }
  const double t_gen = seconds_since(t1);
  // Generation speed counts decode steps (each also includes one sample),
  // the same quantity llama.cpp's eval timing reports.
  std::fwrite(pending.data(), 1, pending.size(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "prompt: %zu tokens, %.2f t/s | generation: %lld tokens, %.2f t/s | %d threads\n",
               tokens.size(), t_prompt > 0 ? static_cast<double>(tokens.size()) / t_prompt : 0.0,
               static_cast<long long>(n_gen), t_gen > 0 && n_decoded > 0 ? static_cast<double>(n_decoded) / t_gen : 0.0,
               ctx.n_threads());
  return 0;
}

}  // namespace kestrel::cli
