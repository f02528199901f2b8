// `kestrel perplexity -m M.gguf -f text.txt [-c 512] [--chunks N] [-b B]
//                     [--kl-divergence-base F [--kl-divergence]] [--json]`
//
// llama-perplexity's method (see eval/perplexity.h). With only
// --kl-divergence-base, the run saves its log-probs to F; adding
// --kl-divergence compares this model (or engine option) against F. The
// base file may not be the model or the text and may not replace a file of
// another kind without --force (output_guard.h); a signal stops the run
// between chunks, printing no estimate and leaving no base file.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "options.h"
#include "output_guard.h"
#include "eval/perplexity.h"

namespace kestrel::cli {

namespace {

struct PerplexityCliOptions {
  std::string model_path, text_path, base_path;
  bool compare = false, json_out = false, force = false;
  PerplexityOptions opt;
};

CommandLine perplexity_command_line(PerplexityCliOptions& o) {
  CommandLine cl;
  cl.name = "perplexity";
  cl.usage =
      "perplexity -m M.gguf -f text.txt [-c 512] [--chunks N] [-b B] [-t N]\n"
      "                          [--kl-divergence-base F [--kl-divergence]] [--json]";
  cl.description =
      "llama-perplexity's method. With --kl-divergence-base F alone the run saves this model's log-probs\n"
      "to F; adding --kl-divergence compares this model against F instead.";
  cl.options = {
      model_option(o.model_path),
      text_file_option("TEXT", "text to score (a file or a pipe)", o.text_path),
      threads_option(o.opt.n_threads),
      string_option({"--kl-divergence-base"}, "F", "KLD base file to write (or, with --kl-divergence, to read)",
                    o.base_path),
      switch_option({"--kl-divergence"}, "compare against the --kl-divergence-base file", o.compare),
      switch_option({"--json"}, "print the result as JSON", o.json_out),
      force_option(o.force),
  };
  const auto chunks = chunk_options("score", o.opt.n_ctx, o.opt.n_chunks, o.opt.n_batch);
  cl.options.insert(cl.options.begin() + 2,  // after -m, -f in --help
                    chunks.begin(), chunks.end());
  return cl;
}

void check_perplexity(PerplexityCliOptions& o) {
  if (o.compare && o.base_path.empty()) throw Error("--kl-divergence needs --kl-divergence-base FILE");
  if (o.compare && o.force) std::fprintf(stderr, "warning: --force has no effect with --kl-divergence (nothing is written)\n");
}

}  // namespace

void validate_perplexity_args(Args& args) {
  validate_options(args, perplexity_command_line, check_perplexity);
}

int cmd_perplexity(Args& args) {
  PerplexityCliOptions o;
  if (!parse_options(args, o, perplexity_command_line, check_perplexity)) return 0;
  const bool json_out = o.json_out;
  PerplexityOptions& opt = o.opt;
  if (!o.base_path.empty() && !o.compare) {
    check_output_path(o.base_path, {o.model_path, o.text_path}, OutputKind::KldBase, o.force);
    require_writable_output(o.base_path);  // fail now, not after the whole run
  }
  const std::string text = read_file(o.text_path);
  const auto model = Model::load(o.model_path, opt.n_threads);
  if (opt.n_ctx > model->config().n_ctx_train) {
    std::fprintf(stderr, "warning: -c %lld exceeds the model's trained context (%lld)\n",
                 static_cast<long long>(opt.n_ctx), static_cast<long long>(model->config().n_ctx_train));
  }
  const auto tokens = model->tokenizer().encode(text, true, false);
  if (o.compare) opt.compare_base = o.base_path;
  else opt.save_base = o.base_path;
  std::fprintf(stderr, "%s: %zu tokens, n_ctx %lld\n", o.text_path.c_str(), tokens.size(),
               static_cast<long long>(opt.n_ctx));
  opt.on_chunk = [&](int64_t c, int64_t n, double ppl) {
    std::fprintf(stderr, "[%lld]%.4f,", static_cast<long long>(c + 1), ppl);
    if (c + 1 == n) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
  PerplexityResult r;
  try {
    r = evaluate_perplexity(*model, tokens, opt);
  } catch (const Interrupted&) {
    std::fprintf(stderr, "\n");  // end the line of per-chunk estimates
    throw;
  }
  if (json_out) {
    nlohmann::json j = {{"ppl", r.ppl}, {"ppl_err", r.ppl_err}, {"chunks", r.n_chunks}, {"scored_tokens", r.n_scored},
                        {"n_ctx", opt.n_ctx}};
    if (r.has_kld) {
      const KldReport& k = r.kld;
      j["kld"] = {{"mean", k.mean}, {"mean_err", k.mean_err}, {"median", k.median}, {"p99", k.p99},
                  {"p99_9", k.p999}, {"max", k.max}, {"top1_agreement", k.top1_agree},
                  {"ppl_base", k.ppl_base}, {"ppl_base_err", k.ppl_base_err}, {"ppl_ratio", k.ppl_ratio},
                  {"ppl_diff", k.ppl_diff}};
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("Final estimate: PPL = %.4f +/- %.5f  (%lld chunks, %lld scored tokens)\n", r.ppl, r.ppl_err,
              static_cast<long long>(r.n_chunks), static_cast<long long>(r.n_scored));
  if (!opt.save_base.empty()) std::printf("saved log-probs to %s\n", opt.save_base.c_str());
  if (r.has_kld) {
    const KldReport& k = r.kld;
    std::printf("\n| metric | value |\n| --- | ---: |\n");
    std::printf("| PPL (base) | %.4f ± %.5f |\n", k.ppl_base, k.ppl_base_err);
    std::printf("| PPL (this) | %.4f ± %.5f |\n", r.ppl, r.ppl_err);
    std::printf("| PPL ratio | %.6f |\n| ΔPPL | %+.4f |\n", k.ppl_ratio, k.ppl_diff);
    std::printf("| mean KLD | %.6f ± %.6f |\n", k.mean, k.mean_err);
    std::printf("| median KLD | %.6f |\n| 99%% KLD | %.6f |\n| 99.9%% KLD | %.6f |\n| max KLD | %.6f |\n", k.median,
                k.p99, k.p999, k.max);
    std::printf("| same top-1 | %.2f%% |\n", 100.0 * k.top1_agree);
  }
  return 0;
}

}  // namespace kestrel::cli
