// `kestrel batched-bench`: llama-batched-bench's method and columns on the
// many-sequence engine, plus each row's roofline fractions.
//
// For every (PP, TG, B): B sequences start empty; their prompts of PP
// random tokens are decoded together (batches of up to -b tokens, each
// sequence's tokens consecutive; with -pps one prompt is decoded and
// forked to the others), then TG steps decode one token per sequence in
// one batch. T_PP / T_TG time the two phases; S_PP = B*PP / T_PP (PP /
// T_PP with -pps), S_TG = B*TG / T_TG, S = N_KV / (T_PP + T_TG) with N_KV
// the positions cached at the end. The fractions: prompt operations per
// second against the int8 (or f32) peak; for the TG phase, bytes per
// second (the weights once per step plus each sequence's K/V) against the
// read bandwidth and operations per second against the compute peak, so a
// row shows where batched decode turns compute-bound (docs/bench.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "options.h"
#include "roofline.h"
#include "runtime/engine.h"

namespace kestrel::cli {
namespace {

struct BatchedBenchOptions {
  std::string model;
  std::vector<int64_t> npp = {128}, ntg = {128}, npl = {1, 2, 4, 8, 16, 32};
  int threads = 0;
  int64_t n_ctx = 0, n_batch = 512;
  bool shared_prompt = false, json_out = false;
};

std::string list_text(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

Option list_option(std::vector<std::string> names, std::string help, std::vector<int64_t>& out, int64_t min) {
  return value_option(std::move(names), "N,N,...", std::move(help), list_text(out),
                      [&out, min](const std::string& f, const std::string& v) { out = parse_int_list(f, v, min, 1 << 20); });
}

CommandLine batched_bench_command_line(BatchedBenchOptions& o) {
  CommandLine cl;
  cl.name = "batched-bench";
  cl.usage = "batched-bench -m M.gguf [-npp 128,512] [-ntg 128] [-npl 1,2,4,8,16,32] [-t N] [-c N] [-b N] [-pps] [--json]";
  cl.description =
      "llama-batched-bench's method: for every PP, TG and B, B sequences decode PP prompt tokens together,\n"
      "then TG steps of one token each in one batch; rows report the speeds and their fractions of the\n"
      "measured hardware limits (docs/bench.md).";
  cl.options = {
      required(string_option({"-m", "--model"}, "FILE", "model to measure", o.model)),
      list_option({"-npp", "--n-prompt"}, "prompt lengths", o.npp, 0),
      list_option({"-ntg", "--n-gen"}, "generated tokens per sequence", o.ntg, 0),
      list_option({"-npl", "--n-parallel"}, "numbers of sequences", o.npl, 1),
      threads_option(o.threads),
      int_option({"-c", "--ctx-size"}, "N", "KV cache positions over all sequences (0: what the largest test needs)",
                 o.n_ctx, 0, int64_t{1} << 26),
      int_option({"-b", "--batch-size"}, "N", "tokens per forward pass at most", o.n_batch, 1, 1 << 16),
      switch_option({"-pps"}, "the prompt is shared: decoded once, then forked to every sequence", o.shared_prompt),
      switch_option({"--json"}, "print JSON instead of the table", o.json_out),
  };
  return cl;
}

void check_batched_bench(BatchedBenchOptions& o) {
  const bool any = std::any_of(o.npp.begin(), o.npp.end(), [](int64_t v) { return v > 0; }) ||
                   std::any_of(o.ntg.begin(), o.ntg.end(), [](int64_t v) { return v > 0; });
  if (!any) throw Error("kestrel batched-bench: nothing to run: every -npp and -ntg size is 0");
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Row {
  int64_t pp = 0, tg = 0, pl = 0, n_kv = 0;
  double t_pp = 0, t_tg = 0;
  double pp_ops = 0, tg_bytes = 0, tg_ops = 0;  // work of each phase
  double s_pp() const { return t_pp > 0 ? static_cast<double>(pp) * (shared ? 1.0 : static_cast<double>(pl)) / t_pp : 0; }
  double s_tg() const { return t_tg > 0 ? static_cast<double>(pl * tg) / t_tg : 0; }
  double s() const { return t_pp + t_tg > 0 ? static_cast<double>(n_kv) / (t_pp + t_tg) : 0; }
  bool shared = false;
};

// Runs one (pp, tg, pl) test on fresh sequences of `e`; frees them after.
Row run_test(Engine& e, const Model& m, int64_t pp, int64_t tg, int64_t pl, bool shared, std::mt19937& rng) {
  Row r;
  r.pp = pp, r.tg = tg, r.pl = pl, r.shared = shared;
  const int64_t nv = m.config().n_vocab;
  std::vector<int32_t> seqs;
  for (int64_t j = 0; j < pl; ++j) seqs.push_back(e.seq_new());
  std::vector<std::vector<TokenId>> prompts(static_cast<size_t>(pl));
  for (auto& p : prompts) fill_random(p, pp, nv, rng);
  Batch b(e.n_batch());
  // Prompts: sequence after sequence, each batch filled to n_batch.
  const double t0 = now_s();
  const int64_t n_prompts = shared ? 1 : pl;
  for (int64_t j = 0; j < n_prompts; ++j) {
    for (int64_t i = 0; i < pp; ++i) {
      if (b.size() == b.capacity()) {
        e.decode(b);
        b.clear();
        checkpoint();
      }
      const bool last = i + 1 == pp;
      b.add(prompts[static_cast<size_t>(j)][static_cast<size_t>(i)], seqs[static_cast<size_t>(j)],
            static_cast<int32_t>(i), last ? kOutputLogits : kOutputNone);
    }
  }
  if (b.size() > 0) e.decode(b);
  if (shared) {  // the other sequences share the first one's pages
    for (int64_t j = 1; j < pl; ++j) {
      e.seq_free(seqs[static_cast<size_t>(j)]);
      seqs[static_cast<size_t>(j)] = e.seq_fork(seqs[0]);
    }
  }
  r.t_pp = pp > 0 ? now_s() - t0 : 0;
  const double t1 = now_s();
  std::uniform_int_distribution<TokenId> dist(0, static_cast<TokenId>(nv - 1));
  for (int64_t step = 0; step < tg; ++step) {
    b.clear();
    for (int64_t j = 0; j < pl; ++j) {
      const int32_t s = seqs[static_cast<size_t>(j)];
      b.add(dist(rng), s, static_cast<int32_t>(e.seq_length(s)), kOutputLogits);
    }
    e.decode(b);
    checkpoint();
  }
  r.t_tg = tg > 0 ? now_s() - t1 : 0;
  r.n_kv = shared ? pp + pl * tg : pl * (pp + tg);
  for (int32_t s : seqs) e.seq_free(s);
  // Work: prompts from depth 0; each TG step at its depth for all sequences.
  r.pp_ops = static_cast<double>(n_prompts) * pp_ops(m, pp, 0);
  const double mean_seen = static_cast<double>(pp) + static_cast<double>(tg + 1) / 2.0;
  r.tg_bytes = static_cast<double>(tg) * (weight_bytes_per_step(m) + static_cast<double>(pl) * kv_bytes(m, mean_seen));
  r.tg_ops = static_cast<double>(tg * pl) * (matmul_ops_per_token(m) + attention_ops(m, mean_seen) + output_ops(m));
  return r;
}

}  // namespace

void validate_batched_bench_args(Args& args) {
  BatchedBenchOptions o;
  parse_options(args, o, batched_bench_command_line, check_batched_bench, false);
}

int cmd_batched_bench(Args& args) {
  BatchedBenchOptions o;
  if (!parse_options(args, o, batched_bench_command_line, check_batched_bench)) return 0;
  require_readable_input(o.model);
  const int threads = o.threads > 0 ? o.threads : default_thread_count();
  std::map<int64_t, HardwarePeaks> peaks;
  probe_hardware(peaks, {threads}, "before the tests");

  const auto model = Model::load(o.model, threads);
  const ModelConfig& c = model->config();
  int64_t need = 1, longest = 1, widest = 1;
  for (int64_t pp : o.npp) {
    for (int64_t tg : o.ntg) {
      for (int64_t pl : o.npl) {
        need = std::max(need, (o.shared_prompt ? pp + pl * tg : pl * (pp + tg)) + 64 * pl);  // + a partial page each
        longest = std::max(longest, pp + tg);
        widest = std::max(widest, pl);
      }
    }
  }
  EngineParams ep;
  ep.n_ctx = o.n_ctx > 0 ? o.n_ctx : need;
  ep.n_seq_max = static_cast<int>(widest);
  ep.n_ctx_seq = longest;
  ep.allow_beyond_trained = true;  // timed past the trained context as llama.cpp's tools do, with a warning
  if (longest > c.n_ctx_train) {
    std::fprintf(stderr, "warning: PP + TG (%lld) exceeds the trained context (%lld)\n", static_cast<long long>(longest),
                 static_cast<long long>(c.n_ctx_train));
  }
  ep.n_batch = o.n_batch;
  ep.n_threads = threads;
  Engine e(*model, ep);
  std::fprintf(stderr, "%s\n", kv_cache_summary(e.kv()).c_str());
  std::mt19937 rng(1234);
  run_test(e, *model, std::min<int64_t>(32, std::max<int64_t>(o.npp.front(), 1)), 2, 1, false, rng);  // warm-up

  std::vector<Row> rows;
  for (int64_t pp : o.npp) {
    for (int64_t tg : o.ntg) {
      for (int64_t pl : o.npl) {
        if (pp == 0 && tg == 0) continue;
        rows.push_back(run_test(e, *model, pp, tg, pl, o.shared_prompt, rng));
        const Row& r = rows.back();
        std::fprintf(stderr, "PP %lld TG %lld B %lld: S_PP %.2f t/s, S_TG %.2f t/s\n", static_cast<long long>(pp),
                     static_cast<long long>(tg), static_cast<long long>(pl), r.s_pp(), r.s_tg());
      }
    }
  }
  probe_hardware(peaks, {threads}, "after the tests");
  const HardwarePeaks& hp = peaks[threads];
  const bool q = weights_quantized(*model);
  const double compute = q ? hp.int8_peak : hp.f32_peak;
  const char* compute_name = q ? "int8" : "f32";
  auto frac = [](double work, double t, double limit) { return t > 0 && limit > 0 ? work / t / limit : 0.0; };

  if (o.json_out) {
    nlohmann::json j;
    j["model"] = c.name.empty() ? o.model : c.name;
    j["type"] = model->type_label();
    j["threads"] = threads;
    j["hardware"] = {{"read_bandwidth_bytes_per_s", hp.read_bandwidth}, {"f32_peak_flops", hp.f32_peak},
                     {"int8_peak_ops", hp.int8_peak}};
    for (const Row& r : rows) {
      j["results"].push_back({{"pp", r.pp}, {"tg", r.tg}, {"pl", r.pl}, {"n_kv", r.n_kv}, {"t_pp", r.t_pp},
                              {"speed_pp", r.s_pp()}, {"t_tg", r.t_tg}, {"speed_tg", r.s_tg()},
                              {"t", r.t_pp + r.t_tg}, {"speed", r.s()}, {"compute_limit", compute_name},
                              {"pp_compute_fraction", frac(r.pp_ops, r.t_pp, compute)},
                              {"tg_bandwidth_fraction", frac(r.tg_bytes, r.t_tg, hp.read_bandwidth)},
                              {"tg_compute_fraction", frac(r.tg_ops, r.t_tg, compute)}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s, %s, %d threads, -b %lld%s\n\n", (c.name.empty() ? o.model : c.name).c_str(), model->type_label().c_str(),
              threads, static_cast<long long>(e.n_batch()), o.shared_prompt ? ", shared prompt" : "");
  std::printf("| PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s | PP of %s | TG of bw | TG of %s |\n",
              compute_name, compute_name);
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    std::printf("| %lld | %lld | %lld | %lld | %.3f | %.2f | %.3f | %.2f | %.3f | %.2f | %.1f%% | %.1f%% | %.1f%% |\n",
                static_cast<long long>(r.pp), static_cast<long long>(r.tg), static_cast<long long>(r.pl),
                static_cast<long long>(r.n_kv), r.t_pp, r.s_pp(), r.t_tg, r.s_tg(), r.t_pp + r.t_tg, r.s(),
                100 * frac(r.pp_ops, r.t_pp, compute), 100 * frac(r.tg_bytes, r.t_tg, hp.read_bandwidth),
                100 * frac(r.tg_ops, r.t_tg, compute));
  }
  std::printf("\nread bandwidth %.2f GB/s, f32 FMA peak %.1f GFLOP/s, int8 dot peak %.1f GOP/s\n", hp.read_bandwidth / 1e9,
              hp.f32_peak / 1e9, hp.int8_peak / 1e9);
  return 0;
}

}  // namespace kestrel::cli
