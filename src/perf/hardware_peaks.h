// Measurements of this machine's limits, for roofline fractions in
// `kestrel bench`: streaming memory-read bandwidth, the f32 FMA peak and the
// int8 dot-product peak, each with a given thread count, each with the
// instructions of the ISA level the kernels run at.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kestrel {

struct HardwarePeaks {
  double read_bandwidth = 0;  // bytes/s, best of several streaming reads of >= 1 GiB
  double f32_peak = 0;        // flop/s (2 per FMA lane)
  double int8_peak = 0;       // op/s (2 per int8 multiply-add)
  int threads = 0;
};

// Streaming read of `bytes` (at least 1 GiB is used) split over n_threads;
// returns the best bytes/s of `reps` passes.
double measure_read_bandwidth(int n_threads, int64_t bytes = int64_t(1) << 30, int reps = 5);

// FMA / int8 peaks with n_threads, measured with the instructions of the
// active ISA level's kernels (core/cpu_features.h): 16-lane FMAs and
// vpdpbusd at avx512, 8-lane FMAs and vpmaddubsw below (0 when the CPU
// lacks AVX2). The bandwidth probe likewise uses 512-bit loads at avx512.
double measure_f32_fma_peak(int n_threads);
double measure_int8_dot_peak(int n_threads);

HardwarePeaks measure_hardware_peaks(int n_threads);

// Each limit's larger value. Other processes can only slow a probe down, so
// the best of several probes is the closer estimate of what the hardware
// can do (and keeps roofline fractions from passing 100% when a probe ran
// while another tenant held the cores).
HardwarePeaks best_of(const HardwarePeaks& a, const HardwarePeaks& b);

// The AVX2 inner loops (perf/avx2/peaks_avx2.cpp): each returns the number
// of operations it performed in `iters` iterations.
double f32_fma_loop_avx2(int64_t iters);
// Sums `bytes` (a multiple of 32, 32-byte aligned) with 256-bit loads,
// with `prefetch` also requesting the lines 4 KiB ahead into L2.
uint64_t stream_read_avx2(const void* data, size_t bytes, bool prefetch);
double int8_dot_loop_avx2(int64_t iters);
// The same three at the avx512 level (perf/avx512/peaks_avx512.cpp):
// 16-lane FMAs, vpdpbusd, 512-bit loads (data 64-byte aligned).
double f32_fma_loop_avx512(int64_t iters);
double int8_dot_loop_avx512(int64_t iters);
uint64_t stream_read_avx512(const void* data, size_t bytes, bool prefetch);

}  // namespace kestrel
