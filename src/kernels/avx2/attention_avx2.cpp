// AVX2 attention work item (attention.h): the rows (token, query head) that
// share one KV head, for a block of query tokens.
//
// Same arithmetic as attention_rows_ref, element for element:
//  - scores: for each (row, position) a sum over the head dimensions in
//    order, acc += q16 * k; vectorized across 8 positions, which needs K
//    transposed: 8 cache rows x 8 dims of f16 are transposed in registers
//    and widened once per item, then serve every row. 4 rows x 2 position
//    blocks are computed together so 8 independent FMA chains hide the
//    latency. q16 * k is exact in f32, so FMA rounds exactly like the
//    reference's multiply-then-add;
//  - softmax: max, expf (glibc's, exp_avx2.h), the sum in double in
//    position order (4 rows interleaved to hide the add latency, each row's
//    chain unchanged), then p = f16(e * (float)(1 / sum));
//  - output: for each (row, dim) a sum over positions in order,
//    acc += p * v, vectorized across dims; V rows are widened to f32 32 at
//    a time and reused by every row.
#include <algorithm>
#include <limits>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/avx2/exp_avx2.h"
#include "kernels/avx2/simd_avx2.h"

namespace kestrel {
namespace {

using namespace avx2;

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

__m256 round_f16(__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, kRound)); }

// K rows j0..j0+7 (dims d0..d0+7 of KV head kvh) transposed: kt[8*i + p] =
// K[j0 + p][d0 + i] as f32. Rows at or past n_ctx read as zero.
void transpose_k_8x8(const AttentionArgs& a, int kvh, int64_t j0, int d0, float* kt) {
  __m128i r[8];
  for (int p = 0; p < 8; ++p) {
    r[p] = j0 + p < a.n_ctx
               ? load_u128(a.k + (j0 + p) * a.kv_stride + static_cast<int64_t>(kvh) * a.shape.head_dim + d0)
               : _mm_setzero_si128();
  }
  const __m128i t0 = _mm_unpacklo_epi16(r[0], r[1]), t1 = _mm_unpackhi_epi16(r[0], r[1]);
  const __m128i t2 = _mm_unpacklo_epi16(r[2], r[3]), t3 = _mm_unpackhi_epi16(r[2], r[3]);
  const __m128i t4 = _mm_unpacklo_epi16(r[4], r[5]), t5 = _mm_unpackhi_epi16(r[4], r[5]);
  const __m128i t6 = _mm_unpacklo_epi16(r[6], r[7]), t7 = _mm_unpackhi_epi16(r[6], r[7]);
  const __m128i u0 = _mm_unpacklo_epi32(t0, t2), u1 = _mm_unpackhi_epi32(t0, t2);
  const __m128i u2 = _mm_unpacklo_epi32(t1, t3), u3 = _mm_unpackhi_epi32(t1, t3);
  const __m128i u4 = _mm_unpacklo_epi32(t4, t6), u5 = _mm_unpackhi_epi32(t4, t6);
  const __m128i u6 = _mm_unpacklo_epi32(t5, t7), u7 = _mm_unpackhi_epi32(t5, t7);
  const __m128i c[8] = {_mm_unpacklo_epi64(u0, u4), _mm_unpackhi_epi64(u0, u4), _mm_unpacklo_epi64(u1, u5),
                        _mm_unpackhi_epi64(u1, u5), _mm_unpacklo_epi64(u2, u6), _mm_unpackhi_epi64(u2, u6),
                        _mm_unpacklo_epi64(u3, u7), _mm_unpackhi_epi64(u3, u7)};
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + 8 * i, _mm256_cvtph_ps(c[i]));
}

// The cache rows of one KV head sit kv_stride apart (the other heads'
// slices in between), a pattern the hardware prefetchers follow poorly:
// fetch the head slices of rows [j0, j0 + n) (below n_max) ahead of use.
constexpr int64_t kPrefetchRows = 32;
void prefetch_kv_rows(const uint16_t* base, int64_t stride, int kvh, int hd, int64_t j0, int64_t n, int64_t n_max) {
  for (int64_t j = j0; j < std::min(j0 + n, n_max); ++j) {
    const char* row = reinterpret_cast<const char*>(base + j * stride + static_cast<int64_t>(kvh) * hd);
    for (int o = 0; o < hd * 2; o += 64) _mm_prefetch(row + o, _MM_HINT_T0);
    _mm_prefetch(row + hd * 2 - 1, _MM_HINT_T0);  // the slice may straddle one more line
  }
}

// Scores of NR rows (qf rows hd apart) at NB blocks of 8 positions (kt
// blocks 8*hd apart) into s (rows `stride` apart).
template <int NR, int NB>
void qk_tile(const float* qf, const float* kt, int hd, float scale, float* s, int64_t stride) {
  __m256 acc[NR][NB];
  for (int r = 0; r < NR; ++r) {
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  for (int i = 0; i < hd; ++i) {
    __m256 k[NB];
    for (int b = 0; b < NB; ++b) k[b] = _mm256_loadu_ps(kt + b * 8 * hd + 8 * i);
    for (int r = 0; r < NR; ++r) {
      const __m256 q = _mm256_broadcast_ss(qf + r * hd + i);
      for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_fmadd_ps(q, k[b], acc[r][b]);
    }
  }
  const __m256 sc = _mm256_set1_ps(scale);
  for (int r = 0; r < NR; ++r) {
    for (int b = 0; b < NB; ++b) _mm256_storeu_ps(s + r * stride + 8 * b, _mm256_mul_ps(acc[r][b], sc));
  }
}

template <int NB>
void qk_rows(int n_rows, const float* qf, const float* kt, int hd, float scale, float* s, int64_t stride) {
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) qk_tile<4, NB>(qf + r * hd, kt, hd, scale, s + r * stride, stride);
  auto rest = [&](auto nr, int64_t) { qk_tile<decltype(nr)::value, NB>(qf + r * hd, kt, hd, scale, s + r * stride, stride); };
  dispatch_act_count<3>(n_rows - r, 0, rest);
}

// Max of x[0..n).
float row_max(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float mx = lanes[0];
  for (int k = 1; k < 8; ++k) mx = lanes[k] > mx ? lanes[k] : mx;
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

// x[j] = expf(x[j] - mx) for j < n (lanes past n are written too; the row
// has room).
void exp_shifted(float* x, int64_t n, float mx) {
  const __m256 m = _mm256_set1_ps(mx);
  for (int64_t j = 0; j < n; j += 8) _mm256_storeu_ps(x + j, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), m)));
}

// Sequential double sums of up to 4 rows of equal length n, interleaved.
template <int R>
void row_sums(float* const* rows, int64_t n, double* out) {
  double s[R] = {};
  for (int64_t j = 0; j < n; ++j) {
    for (int r = 0; r < R; ++r) s[r] += rows[r][j];
  }
  for (int r = 0; r < R; ++r) out[r] = s[r];
}

// o[d] = sum_j p[j] * v[j][d] for j < n, v rows hd apart, added to o (NV
// vectors of dims).
template <int NV>
void pv_row(const float* p, const float* v, int64_t n, int hd, float* o) {
  __m256 acc[NV];
  for (int c = 0; c < NV; ++c) acc[c] = _mm256_loadu_ps(o + 8 * c);
  for (int64_t j = 0; j < n; ++j) {
    const __m256 pj = _mm256_broadcast_ss(p + j);
    for (int c = 0; c < NV; ++c) acc[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + j * hd + 8 * c), acc[c]);
  }
  for (int c = 0; c < NV; ++c) _mm256_storeu_ps(o + 8 * c, acc[c]);
}

}  // namespace

void attention_rows_avx2(const AttentionArgs& a, int kvh, int64_t t0, int64_t t1, float* scratch) {
  const AttentionShape& sh = a.shape;
  const int hd = sh.head_dim;
  const int group = sh.n_head / sh.n_head_kv;
  const AttentionScratch layout = AttentionScratch::for_shape(a.n_ctx, sh);
  const int64_t stride = layout.row_pad;
  const int n_rows = static_cast<int>((t1 - t0) * group);
  if (n_rows > layout.max_rows) throw Error("attention: work item larger than its scratch");
  float* S = scratch;                                  // [max_rows][row_pad]
  float* qf = S + layout.max_rows * stride;            // [max_rows][hd]
  float* kt = qf + layout.max_rows * hd;               // [2][hd][8]
  float* vt = kt + 16 * hd;                            // [kVTile][hd]
  auto row_t = [&](int r) { return t0 + r / group; };
  auto row_h = [&](int r) { return kvh * group + r % group; };
  auto row_n = [&](int r) { return a.pos0 + row_t(r) + 1; };  // positions row r sees
  const int64_t n_max = a.pos0 + t1;

  // Queries rounded to f16.
  for (int r = 0; r < n_rows; ++r) {
    const float* q = a.q + row_t(r) * a.q_stride + static_cast<int64_t>(row_h(r)) * hd;
    for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(qf + r * hd + d, round_f16(_mm256_loadu_ps(q + d)));
  }

  // Scores, 16 positions per step; only rows that see the block compute it.
  for (int64_t jb = 0; jb < n_max; jb += 16) {
    const int nb = n_max - jb > 8 ? 2 : 1;
    prefetch_kv_rows(a.k, a.kv_stride, kvh, hd, jb + kPrefetchRows, 16, n_max);
    for (int b = 0; b < nb; ++b) {
      for (int d = 0; d < hd; d += 8) transpose_k_8x8(a, kvh, jb + 8 * b, d, kt + b * 8 * hd + 8 * d);
    }
    const int r0 = static_cast<int>(std::max<int64_t>(0, jb - a.pos0 - t0)) * group;
    if (r0 >= n_rows) continue;
    if (nb == 2) {
      qk_rows<2>(n_rows - r0, qf + r0 * hd, kt, hd, a.scale, S + r0 * stride + jb, stride);
    } else {
      qk_rows<1>(n_rows - r0, qf + r0 * hd, kt, hd, a.scale, S + r0 * stride + jb, stride);
    }
  }

  // Softmax: exps, exact sequential double sums (rows of one token share n),
  // then probabilities rounded to f16.
  for (int r = 0; r < n_rows; ++r) {
    float* row = S + r * stride;
    exp_shifted(row, row_n(r), row_max(row, row_n(r)));
  }
  double sums[4];
  for (int r = 0; r < n_rows;) {
    const int len = std::min(4, group - r % group);  // rows left of this token, at most 4
    float* rows[4] = {S + r * stride, S + (r + 1) * stride, S + (r + 2) * stride, S + (r + 3) * stride};
    switch (len) {
      case 4: row_sums<4>(rows, row_n(r), sums); break;
      case 3: row_sums<3>(rows, row_n(r), sums); break;
      case 2: row_sums<2>(rows, row_n(r), sums); break;
      default: row_sums<1>(rows, row_n(r), sums); break;
    }
    for (int k = 0; k < len; ++k) {
      const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sums[k]));
      float* row = rows[k];
      for (int64_t j = 0; j < row_n(r + k); j += 8) {
        _mm256_storeu_ps(row + j, round_f16(_mm256_mul_ps(_mm256_loadu_ps(row + j), inv)));
      }
    }
    r += len;
  }

  // Output rows: zero, then sums over V tiles in position order.
  for (int r = 0; r < n_rows; ++r) {
    float* o = a.out + row_t(r) * a.out_stride + static_cast<int64_t>(row_h(r)) * hd;
    for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(o + d, _mm256_setzero_ps());
  }
  constexpr int64_t kTile = AttentionScratch::kVTile;
  for (int64_t jt = 0; jt < n_max; jt += kTile) {
    const int64_t m = std::min(kTile, n_max - jt);
    prefetch_kv_rows(a.v, a.kv_stride, kvh, hd, jt + kTile, kTile, n_max);
    for (int64_t j = 0; j < m; ++j) {
      const uint16_t* v = a.v + (jt + j) * a.kv_stride + static_cast<int64_t>(kvh) * hd;
      for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(vt + j * hd + d, _mm256_cvtph_ps(load_u128(v + d)));
    }
    const int r0 = static_cast<int>(std::max<int64_t>(0, jt - a.pos0 - t0)) * group;
    for (int r = r0; r < n_rows; ++r) {
      const int64_t n = std::min(m, row_n(r) - jt);
      const float* p = S + r * stride + jt;
      float* o = a.out + row_t(r) * a.out_stride + static_cast<int64_t>(row_h(r)) * hd;
      int d = 0;
      for (; d + 64 <= hd; d += 64) pv_row<8>(p, vt + d, n, hd, o + d);
      auto rest = [&](auto nv, int64_t) { pv_row<decltype(nv)::value>(p, vt + d, n, hd, o + d); };
      dispatch_act_count<7>((hd - d) / 8, 0, rest);
    }
  }
}

}  // namespace kestrel
