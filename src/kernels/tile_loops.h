// The loops every tile kernel shares, whatever its ISA: plain C++ templates
// (no intrinsics), instantiated with each kernel's own lambdas, so one copy
// serves the avx2 and avx512 folders without ODR trouble between TUs
// compiled with different target flags.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace kestrel::tile_loops {

// Calls f(0), ..., f(Count - 1): as a loop whose body is Unroll calls
// (Count % Unroll == 0), or straight through when Unroll == Count. The tile
// kernels' decode paths (1-2 activation rows) run their fixed inner loops
// straight: as short loops, the branches cost 10-20% of the kernel with
// weights in L2. With more rows they stay looped, or the compiler starts
// every step's multiplies first and spills.
template <int Count, int Unroll, typename F>
inline void steps(F&& f) {
  static_assert(Unroll >= 1 && Count % Unroll == 0);
  auto body = [&]<int... J>(int base, std::integer_sequence<int, J...>) { (f(base + J), ...); };
#pragma GCC unroll 1
  for (int base = 0; base < Count; base += Unroll) body(base, std::make_integer_sequence<int, Unroll>{});
}

template <int N, typename F>
inline void dispatch_act_count(int64_t n, int64_t t, F& f) {
  if constexpr (N >= 1) {
    if (n == N) {
      f(std::integral_constant<int, N>{}, t);
    } else {
      dispatch_act_count<N - 1>(n, t, f);
    }
  }
}

// Calls f(integral_constant<N>, t) over activation rows t.. in groups of
// MaxN, then once for the remaining n_act % MaxN rows, so kernels are
// templates on the row count N (accumulators stay in registers).
template <int MaxN, typename F>
inline void for_act_groups(int64_t n_act, F&& f) {
  int64_t t = 0;
  for (; t + MaxN <= n_act; t += MaxN) f(std::integral_constant<int, MaxN>{}, t);
  dispatch_act_count<MaxN - 1>(n_act - t, t, f);
}

// The pair loop of the avx512 kernels (two 8-row tiles per 512-bit
// register): for each tile pair and each group of up to MaxN activation
// rows, rows(integral_constant<N>, tile a, tile b, first activation row,
// first output row); an odd last tile goes through `single`, the 8-row
// kernel of the level below with the PackedGemmFn signature. Decode (at
// most MaxDecode activation rows) goes to `single` whole: two interleaved
// tile streams read DRAM ~8% slower than one (docs/performance.md).
template <int MaxN, int MaxDecode, typename Single, typename Rows>
inline void for_tile_pairs(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                           size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate, Single single,
                           Rows&& rows) {
  if (n_act <= MaxDecode) {
    single(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
    return;
  }
  int64_t i = 0;
  for (; i + 2 <= n_tiles; i += 2) {
    const uint8_t* ta = tiles + i * tile_bytes;
    for_act_groups<MaxN>(n_act, [&](auto n, int64_t t) {
      rows(n, ta, ta + tile_bytes, act + t * act_stride, y + t * ldy + 8 * i);
    });
  }
  if (i < n_tiles) single(n_in, tiles + i * tile_bytes, 1, tile_bytes, act, act_stride, n_act, y + 8 * i, ldy, accumulate);
}

// A whole PackedGemmFn over tile pairs: pick(integral_constant<N>) names
// the kernel's rows function for N activation rows, called as
// rows(n_blocks, tile a, tile b, act, act_stride, y, ldy, accumulate).
template <int MaxN, int MaxDecode, typename Single, typename Pick>
inline void gemm_tile_pairs(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes,
                            const uint8_t* act, size_t act_stride, int64_t n_act, float* y, int64_t ldy,
                            bool accumulate, Single single, int64_t n_blocks, Pick pick) {
  for_tile_pairs<MaxN, MaxDecode>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate, single,
                                  [&](auto n, const uint8_t* ta, const uint8_t* tb, const uint8_t* a, float* out) {
                                    pick(n)(n_blocks, ta, tb, a, act_stride, out, ldy, accumulate);
                                  });
}

}  // namespace kestrel::tile_loops
