// `kestrel perplexity -m M.gguf -f text.txt [-c 512] [--chunks N] [-b B]
//                     [--kl-divergence-base F [--kl-divergence]] [--json]`
//
// llama-perplexity's method (see eval/perplexity.h). With only
// --kl-divergence-base, the run saves its log-probs to F; adding
// --kl-divergence compares this model (or engine option) against F.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "eval/perplexity.h"

namespace kestrel::cli {

int cmd_perplexity(Args& args) {
  std::string model_path, text_path, base_path;
  bool compare = false, json_out = false;
  PerplexityOptions opt;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: kestrel perplexity -m M.gguf -f text.txt [-c 512] [--chunks N] [-b B] [-t N]\n"
          "                          [--kl-divergence-base F [--kl-divergence]] [--json]\n");
      return 0;
    }
    if (a == "-m" || a == "--model") model_path = args.value(a);
    else if (a == "-f" || a == "--file") text_path = args.value(a);
    else if (a == "-c" || a == "--ctx-size") opt.n_ctx = args.int_value(a, 4, 1 << 20);
    else if (a == "--chunks") opt.n_chunks = args.int_value(a, -1, INT32_MAX);
    else if (a == "-b" || a == "--batch-size") opt.n_batch = args.int_value(a, 1, 1 << 20);
    else if (a == "-t" || a == "--threads") opt.n_threads = static_cast<int>(args.int_value(a, 1, 1024));
    else if (a == "--kl-divergence-base") base_path = args.value(a);
    else if (a == "--kl-divergence") compare = true;
    else if (a == "--json") json_out = true;
    else Args::unknown("perplexity", a);
  }
  if (model_path.empty()) throw Error("kestrel perplexity: -m MODEL.gguf is required");
  if (text_path.empty()) throw Error("kestrel perplexity: -f TEXT is required");
  if (compare && base_path.empty()) throw Error("--kl-divergence needs --kl-divergence-base FILE");
  const std::string text = read_file(text_path);
  const auto model = Model::load(model_path, opt.n_threads);
  if (opt.n_ctx > model->config().n_ctx_train) {
    std::fprintf(stderr, "warning: -c %lld exceeds the model's trained context (%lld)\n",
                 static_cast<long long>(opt.n_ctx), static_cast<long long>(model->config().n_ctx_train));
  }
  const auto tokens = model->tokenizer().encode(text, true, false);
  if (compare) opt.compare_base = base_path;
  else opt.save_base = base_path;
  std::fprintf(stderr, "%s: %zu tokens, n_ctx %lld\n", text_path.c_str(), tokens.size(),
               static_cast<long long>(opt.n_ctx));
  opt.on_chunk = [&](int64_t c, int64_t n, double ppl) {
    std::fprintf(stderr, "[%lld]%.4f,", static_cast<long long>(c + 1), ppl);
    if (c + 1 == n) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
  const PerplexityResult r = evaluate_perplexity(*model, tokens, opt);
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
