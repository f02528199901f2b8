// AVX2/FMA/F16C tile kernels for packed 16-bit float weights (f16x8 and
// bf16x8: element k of the 8 rows side by side) against activation rows
// already rounded to f16 (resp. bf16) and stored as f32, plus that rounding.
//
// Lane r accumulates row r with FMA over the elements; products of two f16
// (or two bf16) values are exact in f32, so the only difference from the
// scalar oracles (vec_dot_f16_f16_ref / vec_dot_bf16_bf16_ref, which sum in
// double) is f32 summation, as for their vec_dot AVX2 twins. The two
// formats differ only in how 8 weights widen to f32 (Half::widen). Each activation row keeps several independent sums
// when few rows are in flight so the FMA latency stays hidden.
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/avx2/gemm_avx2.h"
#include "kernels/avx2/simd_avx2.h"

namespace kestrel {
namespace {

using namespace avx2;

// 8 weights of one 16-bit float format to f32.
struct F16 {
  static __m256 widen(__m128i h) { return _mm256_cvtph_ps(h); }
};
struct BF16 {  // bf16 is the top half of an f32
  static __m256 widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
};

// Where a kernel's weight vectors come from: the tiles themselves (widened
// on every use), or a panel of the same rows already widened to f32,
// element-major with 8 * NT floats per element (prefill: widened once,
// reused by every group of activation rows).
template <typename Half>
struct FromTiles {
  const uint8_t* tile;
  size_t tile_bytes;
  __m256 load(int64_t k, int u) const { return Half::widen(load_u128(tile + u * tile_bytes + 16 * k)); }
};
template <int NT>
struct FromPanel {
  const float* panel;
  __m256 load(int64_t k, int u) const { return _mm256_loadu_ps(panel + (NT * k + u) * 8); }
};

// NT tiles (1 or 2: 8 or 16 weight rows, two weight vectors per element)
// times N activation rows. Two tiles halve the broadcast loads per FMA.
// Forced inline: once F16 and BF16 shared the FromPanel instantiations,
// GCC called them out of line and stored all 12 accumulators to the stack
// on every element (F16 pp512 at 2 threads 75 -> 52 t/s).
template <int NT, int N, typename Weights>
[[gnu::always_inline]] inline void f16_rows(int64_t n_in, const Weights& src, const uint8_t* act, size_t stride,
                                            float* y, int64_t ldy, bool accumulate) {
  // Independent sums per (row, tile) so >= 8 FMA chains are in flight.
  constexpr int S = NT * N >= 8 ? 1 : (NT * N >= 4 ? 2 : (NT * N >= 2 ? 4 : 8));
  const float* a[N];
  for (int n = 0; n < N; ++n) a[n] = reinterpret_cast<const float*>(act + n * stride);
  __m256 acc[N][NT][S];
  for (int n = 0; n < N; ++n) {
    for (int u = 0; u < NT; ++u) {
      for (int s = 0; s < S; ++s) acc[n][u][s] = _mm256_setzero_ps();
    }
  }
  auto step = [&](int64_t k, int s) {
    __m256 w[NT];
    for (int u = 0; u < NT; ++u) w[u] = src.load(k, u);
    for (int n = 0; n < N; ++n) {
      const __m256 b = _mm256_broadcast_ss(a[n] + k);
      for (int u = 0; u < NT; ++u) acc[n][u][s] = _mm256_fmadd_ps(w[u], b, acc[n][u][s]);
    }
  };
  int64_t k = 0;
  for (; k + S <= n_in; k += S) {
    // Decode streams the weights once (see prefetch_stream); there S >= 4,
    // so each step covers whole 64-byte lines of every tile.
    if constexpr (N == 1 && !std::is_same_v<Weights, FromPanel<NT>>) {
      static_assert(16 * S >= 64);
      for (int u = 0; u < NT; ++u) prefetch_stream<16 * S>(src.tile + u * src.tile_bytes + 16 * k);
    }
    for (int s = 0; s < S; ++s) step(k + s, s);
  }
  for (; k < n_in; ++k) step(k, 0);
  for (int n = 0; n < N; ++n) {
    for (int u = 0; u < NT; ++u) {
      __m256 sum = acc[n][u][0];
      for (int s = 1; s < S; ++s) sum = _mm256_add_ps(sum, acc[n][u][s]);
      store_rows8(y + n * ldy + 8 * u, sum, accumulate);
    }
  }
}

template <typename Half>
void half_x8_gemm(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                  size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  // Enough activation rows to pay for widening a tile pair once into a
  // per-thread f32 panel (grown on first use, then reused).
  constexpr int64_t kPanelMinRows = 12;
  thread_local std::vector<float> panel;
  int64_t i = 0;
  for (; i + 2 <= n_tiles; i += 2) {
    const uint8_t* pair = tiles + i * tile_bytes;
    if (n_act >= kPanelMinRows) {
      if (panel.size() < static_cast<size_t>(16 * n_in)) panel.resize(static_cast<size_t>(16 * n_in));
      for (int64_t k = 0; k < n_in; ++k) {
        _mm256_storeu_ps(panel.data() + 16 * k, Half::widen(load_u128(pair + 16 * k)));
        _mm256_storeu_ps(panel.data() + 16 * k + 8, Half::widen(load_u128(pair + tile_bytes + 16 * k)));
      }
      const FromPanel<2> src{panel.data()};
      for_act_groups<6>(n_act, [&](auto n, int64_t t) {
        f16_rows<2, decltype(n)::value>(n_in, src, act + t * act_stride, act_stride, y + t * ldy + 8 * i, ldy,
                                        accumulate);
      });
    } else {
      const FromTiles<Half> src{pair, tile_bytes};
      for_act_groups<6>(n_act, [&](auto n, int64_t t) {
        f16_rows<2, decltype(n)::value>(n_in, src, act + t * act_stride, act_stride, y + t * ldy + 8 * i, ldy,
                                        accumulate);
      });
    }
  }
  if (i < n_tiles) {
    const FromTiles<Half> src{tiles + i * tile_bytes, tile_bytes};
    for_act_groups<8>(n_act, [&](auto n, int64_t t) {
      f16_rows<1, decltype(n)::value>(n_in, src, act + t * act_stride, act_stride, y + t * ldy + 8 * i, ldy,
                                      accumulate);
    });
  }
}

}  // namespace

void gemm_f16x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                     size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  half_x8_gemm<F16>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void gemm_bf16x8_avx2(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes, const uint8_t* act,
                      size_t act_stride, int64_t n_act, float* y, int64_t ldy, bool accumulate) {
  half_x8_gemm<BF16>(n_in, tiles, n_tiles, tile_bytes, act, act_stride, n_act, y, ldy, accumulate);
}

void prepare_f16_rounded_avx2(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<float*>(dst);
  int64_t i = 0;
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRound)));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(_cvtss_sh(x[i], kRound));
}

void prepare_bf16_rounded_avx2(const float* x, void* dst, int64_t n) {
  // fp32_to_bf16 (core/half.h) on 8 lanes: round to nearest even, NaN made
  // quiet; the result widened back is the bf16 value's float.
  auto* out = static_cast<float*>(dst);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i top = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(v, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(v, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd));
    const __m256i quiet = _mm256_or_si256(v, _mm256_set1_epi32(0x00400000));
    const __m256i bits = _mm256_and_si256(_mm256_blendv_epi8(rounded, quiet, nan), top);
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(bits));
  }
  for (; i < n; ++i) {  // the same steps on one value (no shared inline helpers in AVX2 code)
    uint32_t v;
    std::memcpy(&v, x + i, 4);
    v = (v & 0x7fffffffu) > 0x7f800000u ? (v | 0x00400000u) : v + 0x7fffu + ((v >> 16) & 1u);
    v &= 0xffff0000u;
    std::memcpy(out + i, &v, 4);
  }
}

}  // namespace kestrel
