// AVX2 attention work item (attention.h): the rows (token, query head) that
// share one KV head, for a block of query tokens.
//
// Same arithmetic as attention_rows_ref, element for element:
//  - scores: for each (row, position) a sum over the head dimensions in
//    order, acc += q16 * k; vectorized across 8 positions, which the key
//    cache's layout serves directly (one 16-byte load = one dimension of 8
//    positions). 4 rows x 2 position blocks are computed together so 8
//    independent FMA chains hide the latency. q16 * k is exact in f32, so
//    FMA rounds exactly like the reference's multiply-then-add;
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

// Software prefetch of [p, p + bytes): the K and V streams of one head are
// contiguous but restart for every item and pass, too often for the
// hardware prefetchers to ramp up.
void prefetch_lines(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

// Scores of NR rows (qf rows hd apart) at NB blocks of 8 positions (kb:
// the first block's keys, dimension-major; blocks 8*hd apart) into s (rows
// `stride` apart).
template <int NR, int NB>
void qk_tile(const float* qf, const uint16_t* kb, int hd, float scale, float* s, int64_t stride) {
  __m256 acc[NR][NB];
  for (int r = 0; r < NR; ++r) {
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  for (int i = 0; i < hd; ++i) {
    __m256 k[NB];
    for (int b = 0; b < NB; ++b) k[b] = _mm256_cvtph_ps(load_u128(kb + b * 8 * hd + 8 * i));
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
void qk_rows(int n_rows, const float* qf, const uint16_t* kb, int hd, float scale, float* s, int64_t stride) {
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) qk_tile<4, NB>(qf + r * hd, kb, hd, scale, s + r * stride, stride);
  auto rest = [&](auto nr, int64_t) { qk_tile<decltype(nr)::value, NB>(qf + r * hd, kb, hd, scale, s + r * stride, stride); };
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

// For NR rows that see the same n positions (p rows p_stride apart, o rows
// o_stride apart): o[r][d] += sum_j p[r][j] * v[j][d], v rows hd apart, NV
// vectors of dims. Each V vector loaded serves all NR rows; every (row,
// dim) sum still runs over the positions in order.
template <int NR, int NV>
void pv_tile(const float* p, int64_t p_stride, const float* v, int64_t n, int hd, float* o, int64_t o_stride) {
  __m256 acc[NR][NV];
  for (int r = 0; r < NR; ++r) {
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm256_loadu_ps(o + r * o_stride + 8 * c);
  }
  for (int64_t j = 0; j < n; ++j) {
    __m256 vj[NV];
    for (int c = 0; c < NV; ++c) vj[c] = _mm256_loadu_ps(v + j * hd + 8 * c);
    for (int r = 0; r < NR; ++r) {
      const __m256 pj = _mm256_broadcast_ss(p + r * p_stride + j);
      for (int c = 0; c < NV; ++c) acc[r][c] = _mm256_fmadd_ps(pj, vj[c], acc[r][c]);
    }
  }
  for (int r = 0; r < NR; ++r) {
    for (int c = 0; c < NV; ++c) _mm256_storeu_ps(o + r * o_stride + 8 * c, acc[r][c]);
  }
}

}  // namespace

void attention_rows_avx2(const AttentionArgs& a, int kvh, int64_t t0, int64_t t1, float* scratch) {
  const AttentionShape& sh = a.shape;
  const int hd = sh.head_dim;
  const int group = sh.n_head / sh.n_head_kv;
  const AttentionScratch layout = AttentionScratch::for_shape(a.cache.capacity, sh);
  const int64_t stride = layout.row_pad;
  const int n_rows = static_cast<int>((t1 - t0) * group);
  if (n_rows > layout.max_rows) throw Error("attention: work item larger than its scratch");
  float* S = scratch;                                  // [max_rows][row_pad]
  float* qf = S + layout.max_rows * stride;            // [max_rows][hd]
  float* vt = qf + layout.max_rows * hd;               // [kVTile][hd]
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
  const uint16_t* keys = a.k + a.cache.k_index(kvh, 0, 0);  // this head's blocks, in order
  for (int64_t jb = 0; jb < n_max; jb += 16) {
    const int nb = n_max - jb > 8 ? 2 : 1;
    const uint16_t* kb = keys + jb * hd;
    // Fetch the next step's keys (16 positions x hd f16) while this one runs.
    if (jb + 16 < n_max) prefetch_lines(kb + 16 * hd, 16 * hd * 2);
    const int r0 = static_cast<int>(std::max<int64_t>(0, jb - a.pos0 - t0)) * group;
    if (nb == 2) {
      qk_rows<2>(n_rows - r0, qf + r0 * hd, kb, hd, a.scale, S + r0 * stride + jb, stride);
    } else {
      qk_rows<1>(n_rows - r0, qf + r0 * hd, kb, hd, a.scale, S + r0 * stride + jb, stride);
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
    const uint16_t* v = a.v + a.cache.v_index(kvh, jt, 0);  // m rows of hd, contiguous
    if (jt + kTile < n_max) prefetch_lines(v + kTile * hd, std::min(kTile, n_max - jt - kTile) * hd * 2);
    for (int64_t e = 0; e < m * hd; e += 8) _mm256_storeu_ps(vt + e, _mm256_cvtph_ps(load_u128(v + e)));
    const int r0 = static_cast<int>(std::max<int64_t>(0, jt - a.pos0 - t0)) * group;
    for (int r = r0; r < n_rows; ++r) {
      const int64_t n = std::min(m, row_n(r) - jt);
      // Four heads of one token (same positions, consecutive outputs):
      // 4 rows x 16 dims per pass.
      if (hd % 16 == 0 && r + 4 <= n_rows && row_t(r) == row_t(r + 3)) {
        float* o = a.out + row_t(r) * a.out_stride + static_cast<int64_t>(row_h(r)) * hd;
        for (int d = 0; d < hd; d += 16) pv_tile<4, 2>(S + r * stride + jt, stride, vt + d, n, hd, o + d, hd);
        r += 3;
        continue;
      }
      const float* p = S + r * stride + jt;
      float* o = a.out + row_t(r) * a.out_stride + static_cast<int64_t>(row_h(r)) * hd;
      int d = 0;
      for (; d + 64 <= hd; d += 64) pv_tile<1, 8>(p, 0, vt + d, n, hd, o + d, 0);
      auto rest = [&](auto nv, int64_t) { pv_tile<1, decltype(nv)::value>(p, 0, vt + d, n, hd, o + d, 0); };
      dispatch_act_count<7>((hd - d) / 8, 0, rest);
    }
  }
}

}  // namespace kestrel
