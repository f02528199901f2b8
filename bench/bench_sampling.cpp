// Google Benchmark: sampling one token from raw logits (Gaussian, std 3) with
// kestrel's sorting-free chain and with three sort-based comparators, single
// thread, vocabularies 32000 / 128256 / 151936, batch 1 and 32.
//
//   sampling/<config>/<method>/V:<vocab>/B:<batch>
//   config: top_k40 (top-k 40 alone), top_p095, min_p005, default (llama.cpp
//           default chain: top-k 40, top-p 0.95, min-p 0.05, temp 0.8)
//   method: kestrel  - SamplerChain / sample_batch
//           sort     - std::sort of the whole vocabulary, then the chain on
//                      the sorted array (what llama.cpp's top-p does when
//                      nothing before it sorted)
//           nth      - nth_element to the survivors (top-k) or a threshold
//                      partition (min-p), then sort only the survivors
//           heap     - heap-based top-k, then the rest of the chain on the
//                      survivors (llama.cpp-style top-k; top-k configs only)
// Every call starts from the raw row; batch 1 cycles through the same 32
// rows as batch 32, so both read logits that are not in L1/L2. The counter
// per_row is the time per row (seconds, printed with an SI prefix: 31.7u).
//
// Registers benchmarks only; main() lives in another bench file.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace kestrel {
namespace {

constexpr int kRows = 32;

const std::vector<float>& rows_for(int n_vocab) {
  static std::vector<std::pair<int, std::vector<float>>> cache;
  for (auto& [n, v] : cache) {
    if (n == n_vocab) return v;
  }
  std::mt19937_64 gen(42 + static_cast<uint64_t>(n_vocab));
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> v(static_cast<size_t>(n_vocab) * kRows);
  for (float& x : v) x = dist(gen);
  cache.emplace_back(n_vocab, std::move(v));
  return cache.back().second;
}

enum class Config { TopK40, TopP095, MinP005, Default };

SamplingParams params_for(Config c) {
  SamplingParams p;
  p.seed = 1;
  switch (c) {
    case Config::TopK40: p.samplers = {SamplerType::TopK}; break;
    case Config::TopP095: p.samplers = {SamplerType::TopP}; break;
    case Config::MinP005: p.samplers = {SamplerType::MinP}; break;
    case Config::Default: break;
  }
  return p;
}

// ---- comparators: the chain on an explicit candidate list ----

struct Cand {
  float logit;
  int32_t id;
};
inline bool better(const Cand& a, const Cand& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// top-p / min-p / temperature / draw on candidates sorted best first, as
// llama.cpp does on a sorted array.
int32_t finish_sorted(std::vector<Cand>& c, size_t n, const SamplingParams& p, bool use_top_p,
                      bool use_min_p, bool use_temp, std::mt19937& rng) {
  if (use_top_p && p.top_p < 1.0f) {
    const float mx = c[0].logit;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(c[i].logit - mx);
    double cum = 0;
    for (size_t i = 0; i < n; ++i) {
      cum += std::exp(c[i].logit - mx) / sum;
      if (cum >= p.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  if (use_min_p && p.min_p > 0.0f) {
    const float t = c[0].logit + std::log(p.min_p);
    size_t i = 1;
    while (i < n && c[i].logit >= t) ++i;
    n = i;
  }
  const float temp = use_temp ? p.temp : 1.0f;
  const float mx = c[0].logit / temp;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(c[i].logit / temp - mx);
  const double target = std::uniform_real_distribution<double>(0, 1)(rng) * sum;
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += std::exp(c[i].logit / temp - mx);
    if (cum >= target) return c[i].id;
  }
  return c[n - 1].id;
}

struct Flags {
  bool top_k, top_p, min_p, temp;
};
Flags flags_for(Config c) {
  switch (c) {
    case Config::TopK40: return {true, false, false, false};
    case Config::TopP095: return {false, true, false, false};
    case Config::MinP005: return {false, false, true, false};
    case Config::Default: return {true, true, true, true};
  }
  return {};
}

int32_t sample_full_sort(const float* x, int n_vocab, Config cfg, const SamplingParams& p,
                         std::vector<Cand>& c, std::mt19937& rng) {
  const Flags f = flags_for(cfg);
  c.resize(static_cast<size_t>(n_vocab));
  for (int i = 0; i < n_vocab; ++i) c[static_cast<size_t>(i)] = {x[i], i};
  std::sort(c.begin(), c.end(), better);
  const size_t n = f.top_k ? std::min<size_t>(static_cast<size_t>(p.top_k), c.size()) : c.size();
  return finish_sorted(c, n, p, f.top_p, f.min_p, f.temp, rng);
}

int32_t sample_nth(const float* x, int n_vocab, Config cfg, const SamplingParams& p,
                   std::vector<Cand>& c, std::mt19937& rng) {
  const Flags f = flags_for(cfg);
  c.resize(static_cast<size_t>(n_vocab));
  for (int i = 0; i < n_vocab; ++i) c[static_cast<size_t>(i)] = {x[i], i};
  size_t n;
  if (f.top_k) {
    n = std::min<size_t>(static_cast<size_t>(p.top_k), c.size());
    std::nth_element(c.begin(), c.begin() + static_cast<long>(n) - 1, c.end(), better);
  } else {  // min-p: partition by the threshold
    const float mx = *std::max_element(x, x + n_vocab);
    const float t = mx + std::log(p.min_p);
    n = static_cast<size_t>(std::partition(c.begin(), c.end(), [&](const Cand& a) { return a.logit >= t; }) - c.begin());
  }
  std::sort(c.begin(), c.begin() + static_cast<long>(n), better);
  return finish_sorted(c, n, p, f.top_p, f.min_p, f.temp, rng);
}

int32_t sample_heap(const float* x, int n_vocab, Config cfg, const SamplingParams& p,
                    std::vector<Cand>& c, std::mt19937& rng) {
  const Flags f = flags_for(cfg);
  const size_t k = std::min<size_t>(static_cast<size_t>(p.top_k), static_cast<size_t>(n_vocab));
  // Min-heap (worst on top) of the best k.
  auto worse = [](const Cand& a, const Cand& b) { return better(a, b); };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  for (int i = 0; i < n_vocab; ++i) {
    const Cand cand{x[i], i};
    if (heap.size() < k) heap.push(cand);
    else if (better(cand, heap.top())) {
      heap.pop();
      heap.push(cand);
    }
  }
  c.resize(heap.size());
  for (size_t i = heap.size(); i-- > 0;) {
    c[i] = heap.top();
    heap.pop();
  }
  return finish_sorted(c, c.size(), p, f.top_p, f.min_p, f.temp, rng);
}

enum class Method { Kestrel, Sort, Nth, Heap };

void bench(benchmark::State& state, Config cfg, Method method, int n_vocab, int batch) {
  const std::vector<float>& rows = rows_for(n_vocab);
  const SamplingParams p = params_for(cfg);
  std::vector<SamplerChain> chains;
  std::vector<SamplerChain*> ptrs;
  for (int b = 0; b < batch; ++b) chains.emplace_back(p, n_vocab);
  for (auto& ch : chains) ptrs.push_back(&ch);
  std::vector<int32_t> out(static_cast<size_t>(batch));
  std::vector<Cand> scratch;
  std::mt19937 rng(1);
  int next = 0;
  int64_t sink = 0;
  for (auto _ : state) {
    const int first = batch == 1 ? next : 0;
    const float* x = rows.data() + static_cast<size_t>(first) * static_cast<size_t>(n_vocab);
    if (method == Method::Kestrel) {
      if (batch == 1) out[0] = chains[0].sample(x);
      else sample_batch(ptrs, rows.data(), n_vocab, out);
    } else {
      for (int b = 0; b < batch; ++b) {
        const float* r = x + static_cast<size_t>(b) * static_cast<size_t>(n_vocab);
        switch (method) {
          case Method::Sort: out[static_cast<size_t>(b)] = sample_full_sort(r, n_vocab, cfg, p, scratch, rng); break;
          case Method::Nth: out[static_cast<size_t>(b)] = sample_nth(r, n_vocab, cfg, p, scratch, rng); break;
          case Method::Heap: out[static_cast<size_t>(b)] = sample_heap(r, n_vocab, cfg, p, scratch, rng); break;
          case Method::Kestrel: break;
        }
      }
    }
    sink += out[0];
    next = (next + 1) % kRows;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["per_row"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * batch,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

bool register_sampling_benchmarks() {
  const std::pair<Config, const char*> configs[] = {{Config::TopK40, "top_k40"},
                                                    {Config::TopP095, "top_p095"},
                                                    {Config::MinP005, "min_p005"},
                                                    {Config::Default, "default"}};
  const std::pair<Method, const char*> methods[] = {
      {Method::Kestrel, "kestrel"}, {Method::Sort, "sort"}, {Method::Nth, "nth"}, {Method::Heap, "heap"}};
  for (const auto& [cfg, cname] : configs) {
    for (const auto& [method, mname] : methods) {
      const bool has_top_k = cfg == Config::TopK40 || cfg == Config::Default;
      if (method == Method::Heap && !has_top_k) continue;
      if (method == Method::Nth && cfg == Config::TopP095) continue;  // no survivor count to select
      for (int n_vocab : {32000, 128256, 151936}) {
        for (int batch : {1, 32}) {
          const std::string name = std::string("sampling/") + cname + "/" + mname +
                                   "/V:" + std::to_string(n_vocab) + "/B:" + std::to_string(batch);
          benchmark::RegisterBenchmark(name.c_str(), bench, cfg, method, n_vocab, batch)
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  return true;
}

const bool kRegistered = register_sampling_benchmarks();

}  // namespace
}  // namespace kestrel
