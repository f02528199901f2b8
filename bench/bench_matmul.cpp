// Google Benchmark: the engine's matrix products and its thread pool.
//
//  gemv/<type>/<path>     one token through a 2048 x 8192 matrix (the
//                         llama-3.2-1b FFN shape): weight GB/s, the decode
//                         figure to compare with memory bandwidth;
//  gemv_l2/<type>         one token through 2048 x 256 (<= 1 MB, stays in
//                         L2): the decode kernels' compute-bound GB/s,
//                         which must stay well above the bandwidth;
//  gemv_dram/<type>/<threads>  the same, cycling through 640 MB of such
//                         matrices so the weights come from memory as in
//                         decode: compare with the read bandwidth of as
//                         many threads (kestrel bench prints it);
//  gemm/<type>/<path>/T   T tokens through the same matrix: GFLOP/s (2 per
//                         multiply-add), the prefill figure;
//  pool/<kind>/<threads>  one empty dispatch of the thread pool: the
//                         per-op synchronisation cost of a decode step;
//  attention/<path>/<T>@D T query tokens at depth D for one llama-3.2-1b
//                         layer (32 heads, 8 KV heads of 64): K/V GB/s;
//                         at D = 1024 the cache stays in L2, so the
//                         figure is the kernel's compute-bound rate; .../g8
//                         is a tinyllama layer (4 KV heads, groups of 8);
//  attention_dram/avx2/1/D/<threads>  decode at depth D cycling through
//                         640 MB of such caches (a deep decode step's
//                         stream): compare with the read bandwidth.
// <path> is "packed" (row-interleaved tiles, the default on AVX2 CPUs),
// "vecdot" (one AVX2 vec_dot per output) or "scalar" (the oracles). All run
// on one thread unless the name says otherwise.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

constexpr int64_t kIn = 2048, kOut = 8192;
constexpr int64_t kOutL2 = 256;  // a matrix that stays in L2: the kernels' compute-bound rate

struct MatrixData {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
  PackedBuffer packed;
  std::vector<float> x, y;
  std::vector<uint8_t> scratch;
};

std::unique_ptr<MatrixData> make_matrix(DType t, int64_t n_tok, bool pack, int64_t kOut = kOut) {
  auto m = std::make_unique<MatrixData>();
  const TypeTraits& tt = type_traits(t);
  const size_t rb = row_bytes(tt, kIn);
  m->bytes.resize(rb * kOut);
  std::mt19937_64 gen(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(kIn);
  for (int64_t r = 0; r < kOut; ++r) {
    for (float& v : row) v = dist(gen);
    tt.from_float(row.data(), m->bytes.data() + r * rb, kIn);
  }
  m->w = WeightMatrix{&tt, m->bytes.data(), kIn, kOut, "bench"};
  if (pack) m->packed = pack_weight_matrix(m->w);
  m->x.resize(static_cast<size_t>(kIn * n_tok));
  for (float& v : m->x) v = dist(gen);
  m->y.resize(static_cast<size_t>(kOut * n_tok));
  m->scratch.resize(matmul_scratch_bytes(m->w, n_tok));
  return m;
}

enum class Path { Packed, VecDot, Scalar };

void bench_product(benchmark::State& state, DType t, Path path, int64_t n_tok, int64_t kOut) {
  if (path != Path::Scalar && !cpu_has_avx2()) {
    state.SkipWithError("CPU lacks AVX2");
    return;
  }
  auto m = make_matrix(t, n_tok, path == Path::Packed, kOut);
  if (path == Path::Packed && !m->w.packed) {
    state.SkipWithError("type has no packed format");
    return;
  }
  ThreadPool pool(1);
  const KernelPath kp = path == Path::Scalar ? KernelPath::Scalar : KernelPath::Auto;
  for (auto _ : state) {
    matmul(m->w, m->x.data(), n_tok, m->y.data(), kOut, m->scratch.data(), pool, kp);
    benchmark::DoNotOptimize(m->y.data());
    benchmark::ClobberMemory();
  }
  if (n_tok == 1) {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(m->bytes.size()));
  } else {  // (GFLOP/s of the full kOut rows)
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kIn * kOut * static_cast<double>(n_tok),
                                                   benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
  }
}

void bench_gemv_dram(benchmark::State& state, DType t) {
  if (!cpu_has_avx2()) {
    state.SkipWithError("CPU lacks AVX2");
    return;
  }
  // One quantized matrix, copied into enough packed copies to exceed any L3.
  auto m = make_matrix(t, 1, true);
  if (!m->w.packed) {
    state.SkipWithError("type has no packed format");
    return;
  }
  const size_t bytes = m->packed.bytes;
  const int copies = static_cast<int>((size_t(640) << 20) / bytes + 1);
  std::vector<PackedBuffer> bufs;
  std::vector<WeightMatrix> ws;
  for (int i = 0; i < copies; ++i) {
    WeightMatrix w = m->w;
    bufs.push_back(pack_weight_matrix(w));
    ws.push_back(w);
  }
  ThreadPool pool(static_cast<int>(state.range(0)));
  int i = 0;
  for (auto _ : state) {
    matmul(ws[static_cast<size_t>(i)], m->x.data(), 1, m->y.data(), kOut, m->scratch.data(), pool);
    benchmark::DoNotOptimize(m->y.data());
    i = (i + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

void bench_pool(benchmark::State& state, bool items) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  int64_t sink = 0;
  for (auto _ : state) {
    if (items) {
      pool.for_each(2 * pool.size(), [&](int64_t i, int) { benchmark::DoNotOptimize(sink += i); });
    } else {
      pool.run([&](int ith, int) { benchmark::DoNotOptimize(sink += ith); });
    }
  }
}

// Decode or prefill attention over one layer's f16 KV cache, 32 query
// heads of 64 dims in groups of `group` (4: llama-3.2-1b, 8: tinyllama). With
// dram = true the cache is one of enough copies (one per "layer") to exceed
// any L3, visited in turn, as a decode step at depth streams them.
void bench_attention(benchmark::State& state, KernelPath path, bool dram, int group) {
  if (path == KernelPath::Auto && !cpu_has_avx2()) {
    state.SkipWithError("CPU lacks AVX2");
    return;
  }
  const int64_t n_tok = state.range(0), depth = state.range(1);
  const int threads = dram ? static_cast<int>(state.range(2)) : 1;
  const int n_kv = 32 / group;
  const AttentionShape sh{32, n_kv, 64};
  constexpr int kPage = 64;
  const int64_t qd = 32 * 64, kvd = n_kv * 64, n_slots = depth + n_tok;
  const int64_t n_pages = (n_slots + kPage - 1) / kPage;
  std::mt19937_64 gen(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(qd * n_tok)), out(q.size());
  for (float& x : q) x = dist(gen);
  std::vector<float> kf(static_cast<size_t>(kvd)), vf(kf.size());
  const size_t block = f16_block_bytes(kPage, 64);
  const size_t layer_bytes = 2 * block * static_cast<size_t>(n_kv) * static_cast<size_t>(n_pages);
  const int copies = dram ? static_cast<int>((size_t(640) << 20) / layer_bytes + 1) : 1;
  // Pages in order (a fresh engine allocates them so); one pool per copy.
  std::vector<int32_t> pages(static_cast<size_t>(n_pages));
  for (int64_t i = 0; i < n_pages; ++i) pages[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  std::vector<std::vector<uint8_t>> mem(static_cast<size_t>(copies));
  std::vector<KvPages> kv(mem.size());
  for (int c = 0; c < copies; ++c) {
    mem[c].resize(layer_bytes);
    // Head-major, as the engine's cache.
    const size_t region = block * static_cast<size_t>(n_kv) * static_cast<size_t>(n_pages);
    kv[c] = {mem[c].data(), mem[c].data() + region, block, block, block * static_cast<size_t>(n_pages),
             block * static_cast<size_t>(n_pages), kPage};
    for (int64_t t = 0; t < n_slots; ++t) {
      for (float& x : kf) x = dist(gen);
      for (float& x : vf) x = dist(gen);
      attention_store_f16(kv[c], pages.data(), t, n_kv, 64, kf.data(), vf.data());
    }
  }
  ThreadPool pool(threads);
  AttentionWorkspace ws(sh, n_tok, n_slots, threads);
  const AttentionRun run{pages.data(), 0, n_tok, depth};
  AttentionBatch a;
  a.q = q.data();
  a.q_stride = qd;
  a.out = out.data();
  a.out_stride = qd;
  a.shape = sh;
  a.scale = 0.125f;
  a.runs = {&run, 1};
  const AttentionTaskFn task = path == KernelPath::Scalar ? attention_task_f16_ref : attention_task_f16_avx2;
  int c = 0;
  for (auto _ : state) {
    a.kv = kv[c];
    attention_paged(a, ws, pool, task);
    benchmark::DoNotOptimize(out.data());
    c = (c + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n_slots * kvd * 4));
}

void register_all() {
  const struct {
    DType t;
    const char* name;
  } types[] = {{DType::Q4_0, "q4_0"}, {DType::Q4_1, "q4_1"}, {DType::Q5_0, "q5_0"},
               {DType::Q5_1, "q5_1"}, {DType::Q8_0, "q8_0"}, {DType::Q2_K, "q2_K"}, {DType::Q3_K, "q3_K"}, {DType::Q4_K, "q4_K"}, {DType::Q5_K, "q5_K"},
               {DType::Q6_K, "q6_K"},
               {DType::F16, "f16"}, {DType::BF16, "bf16"}};
  const struct {
    Path p;
    const char* name;
  } paths[] = {{Path::Packed, "packed"}, {Path::VecDot, "vecdot"}, {Path::Scalar, "scalar"}};
  for (const auto& t : types) {
    for (const auto& p : paths) {
      const std::string base = std::string(t.name) + "/" + p.name;
      benchmark::RegisterBenchmark(("gemv/" + base).c_str(), bench_product, t.t, p.p, int64_t{1}, kOut)
          ->Unit(benchmark::kMillisecond);
      if (p.p == Path::Scalar) continue;  // minutes per run
      if (p.p == Path::Packed) {
        benchmark::RegisterBenchmark(("gemv_l2/" + std::string(t.name)).c_str(), bench_product, t.t, p.p, int64_t{1},
                                     kOutL2)->Unit(benchmark::kMicrosecond);
      }
      benchmark::RegisterBenchmark(("gemm/" + base + "/64").c_str(), bench_product, t.t, p.p, int64_t{64}, kOut)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const auto& t : types) {
    benchmark::RegisterBenchmark(("gemv_dram/" + std::string(t.name)).c_str(), bench_gemv_dram, t.t)
        ->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  // n_tok, depth; at depth 1024 the layer's cache (2 MiB) stays in L2: the
  // compute-bound rate.
  benchmark::RegisterBenchmark("attention/avx2", bench_attention, KernelPath::Auto, false, 4)
      ->Args({1, 1024})->Args({1, 4096})->Args({1, 32768})->Args({512, 0})->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("attention/avx2/g8", bench_attention, KernelPath::Auto, false, 8)
      ->Args({1, 2048})->Unit(benchmark::kMillisecond);
  // Decode at depth with the cache streamed from DRAM: n_tok, depth, threads.
  benchmark::RegisterBenchmark("attention_dram/avx2", bench_attention, KernelPath::Auto, true, 4)
      ->Args({1, 4096, 1})->Args({1, 4096, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("attention_dram/avx2/g8", bench_attention, KernelPath::Auto, true, 8)
      ->Args({1, 2048, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("attention/scalar", bench_attention, KernelPath::Scalar, false, 4)
      ->Args({1, 4096})->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("pool/for_each", bench_pool, true)->Arg(1)->Arg(2)->UseRealTime();
  benchmark::RegisterBenchmark("pool/run", bench_pool, false)->Arg(1)->Arg(2)->UseRealTime();
}

const int kRegistered = (register_all(), 0);

}  // namespace
}  // namespace kestrel
