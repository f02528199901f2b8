// `kestrel bench`: llama-bench's method plus roofline fractions.
//
// pp N: N random tokens decoded as one batch from an empty cache (after
// filling it to depth D for `-d D`); tg N: N single-token decode steps.
// A warm-up run precedes the measurements; t/s is mean ± stddev over -r
// repetitions. For each thread count the machine's read bandwidth, f32 FMA
// peak and int8 dot peak are measured before the tests and again after
// them, the better of the two probes counting, and every row reports its
// fraction of the relevant limit (formulas in docs/bench.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "kernels/kernel_registry.h"
#include "convert/progress_bar.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "options.h"
#include "roofline.h"
#include "perf/hardware_peaks.h"
#include "runtime/context.h"

namespace kestrel::cli {
namespace {

struct Row {
  std::string model, type, test;
  double size_bytes = 0, params = 0;
  int threads = 0;
  double mean = 0, stddev = 0;  // tokens/s
  double work_per_token = 0;    // bytes read (tg) or operations (pp)
  double roofline = 0;          // fraction of the limit
  std::string limit;            // "bw", "int8", "f32"
  PhaseProfile split;           // summed over the repetitions (--split)
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// --split: per token, the matrix products (and, for tg, the rate at which
// they streamed their weights, against the bandwidth probe), attention
// (the rate of its K/V reads) and the rest.
nlohmann::json split_json(const Row& r, const HardwarePeaks& hp) {
  const PhaseProfile& p = r.split;
  const double n = static_cast<double>(std::max<int64_t>(p.tokens, 1));
  nlohmann::json j = {{"ms_per_token", 1e3 * p.total_s / n},
                      {"matmul_ms_per_token", 1e3 * p.matmul_s / n},
                      {"attention_ms_per_token", 1e3 * p.attention_s / n},
                      {"other_ms_per_token", 1e3 * p.other_s() / n}};
  if (r.limit == "bw") {  // rates only where every weight byte streams once per token
    j["matmul_bytes_per_s"] = p.matmul_s > 0 ? p.matmul_bytes / p.matmul_s : 0.0;
    j["matmul_bandwidth_fraction"] =
        p.matmul_s > 0 && hp.read_bandwidth > 0 ? p.matmul_bytes / p.matmul_s / hp.read_bandwidth : 0.0;
    j["attention_kv_bytes_per_s"] = p.attention_s > 0 ? p.kv_bytes / p.attention_s : 0.0;
  }
  return j;
}

void print_split_table(const std::vector<Row>& rows, const std::map<int64_t, HardwarePeaks>& peaks) {
  std::printf("\n| model | type | threads | test | ms/token | matrix products | attention | other |\n");
  std::printf("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
  for (const Row& r : rows) {
    const PhaseProfile& p = r.split;
    const double n = static_cast<double>(std::max<int64_t>(p.tokens, 1));
    const double total = std::max(p.total_s, 1e-12);
    char mm[96], att[96];
    std::snprintf(mm, sizeof mm, "%.2f ms (%.1f%%)", 1e3 * p.matmul_s / n, 100.0 * p.matmul_s / total);
    std::snprintf(att, sizeof att, "%.2f ms (%.1f%%)", 1e3 * p.attention_s / n, 100.0 * p.attention_s / total);
    std::string mm_s = mm, att_s = att;
    if (r.limit == "bw" && p.matmul_s > 0) {  // one token per step: every weight byte streamed once
      const double bw = p.matmul_bytes / p.matmul_s;
      std::snprintf(mm, sizeof mm, ", %.1f GB/s = %.1f%% of bw", bw / 1e9, 100.0 * bw / peaks.at(r.threads).read_bandwidth);
      mm_s += mm;
    }
    if (r.limit == "bw" && p.attention_s > 0 && p.kv_bytes > 0) {
      std::snprintf(att, sizeof att, ", K/V %.1f GB/s", p.kv_bytes / p.attention_s / 1e9);
      att_s += att;
    }
    std::printf("| %s | %s | %d | %s | %.2f | %s | %s | %.2f ms (%.1f%%) |\n", r.model.c_str(), r.type.c_str(),
                r.threads, r.test.c_str(), 1e3 * p.total_s / n, mm_s.c_str(), att_s.c_str(), 1e3 * p.other_s() / n,
                100.0 * p.other_s() / total);
  }
}

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<int64_t> pps = {512}, tgs = {128}, threads = {default_thread_count()}, depths = {0};
  int reps = 5;
  bool json_out = false, no_warmup = false, split = false;
};

std::string list_text(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) {
    if (!s.empty()) s += ',';  // appended, not `"," + to_string(x)`: GCC 12 -Wrestrict false positive
    s += std::to_string(x);
  }
  return s;
}

Option list_option(std::vector<std::string> names, std::string help, std::vector<int64_t>& out, int64_t min,
                   int64_t max) {
  return value_option(std::move(names), "N,N,...", std::move(help), list_text(out),
                      [&out, min, max](const std::string& f, const std::string& v) {
                        out = parse_int_list(f, v, min, max);
                      });
}

CommandLine bench_command_line(BenchOptions& o) {
  CommandLine cl;
  cl.name = "bench";
  cl.usage = "bench -m M.gguf [-m M2.gguf ...] [-p 512] [-n 128] [-t 1,2] [-r 5] [-d 0,4096] [--json] [--split]";
  cl.description =
      "llama-bench's method: pp N decodes N random tokens as one batch, tg N makes N single-token steps,\n"
      "each after filling the cache to every -d depth; rows report t/s and the fraction of the measured\n"
      "hardware limit (docs/bench.md).";
  cl.options = {
      required(repeatable(value_option({"-m", "--model"}, "FILE", "model to measure", "",
                                       [&o](const std::string&, const std::string& v) { o.models.push_back(v); }))),
      list_option({"-p", "--n-prompt"}, "prompt sizes (0 disables pp)", o.pps, 0, 1 << 20),
      list_option({"-n", "--n-gen"}, "generation lengths (0 disables tg)", o.tgs, 0, 1 << 20),
      list_option({"-t", "--threads"}, "thread counts", o.threads, 1, 1024),
      list_option({"-d", "--n-depth"}, "cache depths to fill first", o.depths, 0, 1 << 24),
      int_option({"-r", "--repetitions"}, "N", "repetitions per test", o.reps, 1, 1000),
      switch_option({"--json"}, "print JSON instead of the table", o.json_out),
      switch_option({"--no-warmup"}, "skip the warm-up run", o.no_warmup),
      switch_option({"--split"},
                    "also where each test's time goes (matrix products with their weight GB/s, attention with its "
                    "K/V GB/s, the rest)",
                    o.split),
  };
  return cl;
}

void check_bench(BenchOptions& o) {
  const bool any = std::any_of(o.pps.begin(), o.pps.end(), [](int64_t v) { return v > 0; }) ||
                   std::any_of(o.tgs.begin(), o.tgs.end(), [](int64_t v) { return v > 0; });
  if (!any) throw Error("kestrel bench: nothing to run: every -p and -n size is 0");
}

}  // namespace

void validate_bench_args(Args& args) { validate_options(args, bench_command_line, check_bench); }

int cmd_bench(Args& args) {
  BenchOptions o;
  if (!parse_options(args, o, bench_command_line, check_bench)) return 0;
  const std::vector<std::string>& models = o.models;
  const std::vector<int64_t>&pps = o.pps, &tgs = o.tgs, &threads = o.threads, &depths = o.depths;
  const int reps = o.reps;
  const bool json_out = o.json_out, warmup = !o.no_warmup, split = o.split;
  for (const std::string& m : models) require_readable_input(m);  // before minutes of probing

  // The limits are probed before the tests and again after them; each
  // fraction uses the better probe.
  std::map<int64_t, HardwarePeaks> peaks;
  auto probe = [&](const char* when) { probe_hardware(peaks, threads, when); };
  probe("before the tests");

  std::vector<Row> rows;
  std::mt19937 rng(1234);
  // One progress step per timed repetition, over the whole run.
  const auto count_tests = [](const std::vector<int64_t>& v) {
    return static_cast<int64_t>(std::count_if(v.begin(), v.end(), [](int64_t x) { return x > 0; }));
  };
  const int64_t runs_total = static_cast<int64_t>(models.size() * threads.size() * depths.size()) *
                             (count_tests(pps) + count_tests(tgs)) * reps;
  int64_t runs_done = 0;
  ProgressBar bar(true);
  for (const std::string& path : models) {
    const auto model = Model::load(path, static_cast<int>(*std::max_element(threads.begin(), threads.end())));
    const ModelConfig& c = model->config();
    const int64_t max_len = std::max(*std::max_element(pps.begin(), pps.end()), *std::max_element(tgs.begin(), tgs.end()));
    const int64_t need = *std::max_element(depths.begin(), depths.end()) + max_len;
    // Timed past the trained context as llama-bench does (the speed does
    // not depend on what the positions mean), with a warning.
    if (need > c.n_ctx_train) {
      std::fprintf(stderr, "warning: %s: depth + test length (%lld) exceeds the trained context (%lld)\n",
                   path.c_str(), static_cast<long long>(need), static_cast<long long>(c.n_ctx_train));
    }
    const std::string name = c.name.empty() ? path : c.name;
    for (int64_t nt : threads) {
      ContextParams cp;
      cp.n_ctx = need + 1;  // the warm-up decodes one token after the prompt
      cp.allow_beyond_trained = true;
      cp.n_threads = static_cast<int>(nt);
      Context ctx(*model, cp);
      std::vector<TokenId> toks;
      if (warmup) {
        fill_random(toks, std::max<int64_t>(pps.front(), 1), c.n_vocab, rng);
        ctx.clear();
        ctx.decode(toks, false);
        ctx.decode({toks.data(), 1}, false);
      }
      for (int64_t d : depths) {
        struct Test { bool pp; int64_t n; };
        std::vector<Test> tests;
        for (int64_t p : pps) if (p > 0) tests.push_back({true, p});
        for (int64_t g : tgs) if (g > 0) tests.push_back({false, g});
        // The cache is filled to depth d once; each repetition then rolls
        // back to d (truncate), which leaves exactly the state a fresh fill
        // would (the tests only write positions >= d) without re-running a
        // d-token prompt per repetition.
        ctx.clear();
        if (d > 0) {
          fill_random(toks, d, c.n_vocab, rng);
          ctx.decode(toks, false);
        }
        for (const Test& t : tests) {
          std::vector<double> rates;
          ctx.set_profiling(split);
          for (int r = 0; r < reps; ++r) {
            checkpoint();  // a signal stops between repetitions; no table is printed
            ctx.truncate(d);
            fill_random(toks, t.n, c.n_vocab, rng);
            const double t0 = now_s();
            if (t.pp) {
              ctx.decode(toks, false);
            } else {
              for (int64_t i = 0; i < t.n; ++i) {
                if (interrupt_signal() != 0) break;  // reported by the checkpoint above, next round
                ctx.decode({&toks[static_cast<size_t>(i)], 1}, false);
              }
            }
            rates.push_back(static_cast<double>(t.n) / (now_s() - t0));
            char label[160];
            std::snprintf(label, sizeof label, "%s t=%lld %s%lld d=%lld rep %d/%d: %.2f t/s", name.c_str(),
                          static_cast<long long>(nt), t.pp ? "pp" : "tg", static_cast<long long>(t.n),
                          static_cast<long long>(d), r + 1, reps, rates.back());
            bar.update(static_cast<double>(++runs_done) / static_cast<double>(runs_total), label);
          }
          Row row;
          row.split = ctx.profile();
          ctx.set_profiling(false);
          row.model = name;
          row.type = model->type_label();
          row.size_bytes = static_cast<double>(model->file_bytes());
          row.params = static_cast<double>(model->n_params());
          row.threads = static_cast<int>(nt);
          row.test = t.pp ? "pp" : "tg";  // appended: GCC 12 -Wrestrict false positive on `"pp" + ...`
          row.test += std::to_string(t.n);
          if (d > 0) row.test += " @ d" + std::to_string(d);
          double sum = 0, sq = 0;
          for (double x : rates) sum += x;
          row.mean = sum / static_cast<double>(rates.size());
          for (double x : rates) sq += (x - row.mean) * (x - row.mean);
          row.stddev = rates.size() > 1 ? std::sqrt(sq / static_cast<double>(rates.size() - 1)) : 0.0;
          // Work per token now; divided by the limit once the last probe ran.
          if (t.pp) {
            const bool q = weights_quantized(*model);
            row.limit = q ? "int8" : "f32";
            row.work_per_token = pp_ops(*model, t.n, d) / static_cast<double>(t.n);
          } else {
            const double mean_depth = static_cast<double>(d) + static_cast<double>(t.n + 1) / 2.0;
            row.limit = "bw";
            row.work_per_token = tg_bytes_per_token(*model, mean_depth);
          }
          rows.push_back(row);
        }
      }
    }
  }
  bar.finish();
  checkpoint();
  probe("after the tests");
  for (Row& r : rows) {
    const HardwarePeaks& hp = peaks[r.threads];
    const double limit = r.limit == "bw" ? hp.read_bandwidth : r.limit == "int8" ? hp.int8_peak : hp.f32_peak;
    r.roofline = limit > 0 ? r.work_per_token * r.mean / limit : 0.0;
  }

  if (json_out) {
    nlohmann::json j;
    j["isa"] = isa_name(active_isa());
    j["matrix_kernels"] = packed_kernel_summary(active_isa());
    for (const auto& [t, hp] : peaks) {
      j["hardware"].push_back({{"threads", t}, {"read_bandwidth_bytes_per_s", hp.read_bandwidth},
                               {"f32_peak_flops", hp.f32_peak}, {"int8_peak_ops", hp.int8_peak}});
    }
    for (const Row& r : rows) {
      j["results"].push_back({{"model", r.model}, {"type", r.type}, {"size_bytes", r.size_bytes},
                              {"params", r.params}, {"threads", r.threads}, {"test", r.test},
                              {"tokens_per_s", r.mean}, {"stddev", r.stddev}, {"roofline_fraction", r.roofline},
                              {"roofline_limit", r.limit}});
      if (split) j["results"].back()["split"] = split_json(r, peaks[r.threads]);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("| model | size | params | type | threads | test | t/s | roofline |\n");
  std::printf("| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s | %d | %s | %.2f ± %.2f | %.1f%% of %s |\n", r.model.c_str(),
                human_size(r.size_bytes).c_str(), human_params(r.params).c_str(), r.type.c_str(), r.threads,
                r.test.c_str(), r.mean, r.stddev, 100.0 * r.roofline, r.limit.c_str());
  }
  if (split) print_split_table(rows, peaks);
  for (const auto& [t, hp] : peaks) {
    std::printf("\nthreads %lld: read bandwidth %.2f GB/s, f32 FMA peak %.1f GFLOP/s, int8 dot peak %.1f GOP/s",
                static_cast<long long>(t), hp.read_bandwidth / 1e9, hp.f32_peak / 1e9, hp.int8_peak / 1e9);
  }
  std::printf("\nISA %s (matrix kernels: %s); probes use its instructions\n",
              std::string(isa_name(active_isa())).c_str(), packed_kernel_summary(active_isa()).c_str());
  return 0;
}

}  // namespace kestrel::cli
