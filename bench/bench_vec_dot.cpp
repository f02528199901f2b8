// Google Benchmark: the decode hot path, one gemv of a 4096 x 4096 weight
// matrix against one activation row, for every type's scalar and AVX2
// vec_dot. Reports weight bytes per second (GB/s), the number to compare with
// the machine's single-core memory bandwidth. Also times the activation
// quantizers (reference vs AVX2) on one 4096-element row.
//
// Built only with -DKESTREL_BENCH=ON (target kestrel_bench). This file holds
// the benchmark main(); other bench files only register benchmarks.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

constexpr int kN = 4096;      // elements per row
constexpr int kRows = 4096;   // output rows
constexpr int kDistinctRows = 64;  // quantized once, then tiled (fast setup)

std::vector<float> normal_floats(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// A weight matrix of kRows rows of type tt (realistic quantized content) and
// one activation row of its vec_dot_type.
struct GemvData {
  std::vector<uint8_t> w;
  std::vector<uint8_t> a;
  size_t w_row_bytes = 0;
};

GemvData make_gemv_data(const TypeTraits& tt) {
  GemvData d;
  d.w_row_bytes = row_bytes(tt, kN);
  d.w.resize(d.w_row_bytes * kRows);
  const std::vector<float> wf = normal_floats(static_cast<size_t>(kN) * kDistinctRows, 1);
  for (int r = 0; r < kDistinctRows; ++r) {
    tt.from_float(wf.data() + static_cast<size_t>(r) * kN, d.w.data() + r * d.w_row_bytes, kN);
  }
  for (int r = kDistinctRows; r < kRows; ++r) {
    std::memcpy(d.w.data() + r * d.w_row_bytes, d.w.data() + (r % kDistinctRows) * d.w_row_bytes,
                d.w_row_bytes);
  }
  const TypeTraits& at = type_traits(tt.vec_dot_type);
  d.a.resize(row_bytes(at, kN));
  const std::vector<float> af = normal_floats(kN, 2);
  at.from_float(af.data(), d.a.data(), kN);
  return d;
}

void bench_gemv(benchmark::State& state, const TypeTraits* tt, bool fast) {
  if (fast && !cpu_has_avx2()) {
    state.SkipWithError("CPU lacks AVX2");
    return;
  }
  const VecDotFn dot = fast ? tt->vec_dot_avx2 : tt->vec_dot_ref;
  const GemvData d = make_gemv_data(*tt);
  std::vector<float> y(kRows);
  for (auto _ : state) {
    for (int r = 0; r < kRows; ++r) y[r] = dot(kN, d.w.data() + r * d.w_row_bytes, d.a.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(d.w.size()));
}

void bench_quantize(benchmark::State& state, const TypeTraits* tt, FromFloatFn fn) {
  if (!cpu_has_avx2()) {
    state.SkipWithError("CPU lacks AVX2");
    return;
  }
  const std::vector<float> x = normal_floats(kN, 3);
  std::vector<uint8_t> out(row_bytes(*tt, kN));
  for (auto _ : state) {
    fn(x.data(), out.data(), kN);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kN *
                          static_cast<int64_t>(sizeof(float)));
}

void register_all() {
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.vec_dot_ref) continue;
    const std::string base = "gemv4096x4096/" + std::string(tt.name);
    benchmark::RegisterBenchmark((base + "/scalar").c_str(), bench_gemv, &tt, false)
        ->Unit(benchmark::kMillisecond);
    if (tt.vec_dot_avx2) {
      benchmark::RegisterBenchmark((base + "/avx2").c_str(), bench_gemv, &tt, true)
          ->Unit(benchmark::kMillisecond);
    }
  }
  const struct {
    DType type;
    FromFloatFn avx2;
  } quantizers[] = {{DType::Q8_0, quantize_row_q8_0_avx2},
                    {DType::Q8_1, quantize_row_q8_1_avx2},
                    {DType::Q8_K, quantize_row_q8_K_avx2}};
  for (const auto& q : quantizers) {
    const TypeTraits& tt = type_traits(q.type);
    const std::string base = "quantize_row4096/" + std::string(tt.name);
    benchmark::RegisterBenchmark((base + "/ref").c_str(), bench_quantize, &tt, tt.from_float);
    benchmark::RegisterBenchmark((base + "/avx2").c_str(), bench_quantize, &tt, q.avx2);
  }
}

}  // namespace
}  // namespace kestrel

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kestrel::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
