// AVX2 attention task (attention.h): the rows (token, query head) that share
// one KV head, for a block of one run's tokens, over one segment of slots.
//
// Same arithmetic as attention_task_f16_ref, element for element:
//  - scores: for each (row, position) a sum over the head dimensions in
//    order, acc += q16 * k; vectorized across 8 positions, which the key
//    blocks serve directly (one 16-byte load = one dimension of 8
//    positions). 4 rows x 2 position blocks are computed together so 8
//    independent FMA chains hide the latency. q16 * k is exact in f32, so
//    FMA rounds exactly like the reference's multiply-then-add;
//  - softmax: max, exp_softmax (exp8_softmax, exp_avx2.h), the sum in 16
//    double lanes as the reference forms it, then p = f16(e * (float)(1 /
//    sum));
//  - output: for each (row, dim) a sum over positions in order,
//    acc += p * v, vectorized across dims; each V element loaded serves 4
//    rows (query groups of 4, 8, ...) or is widened once per tile and
//    reused by every row.
// A 16-position step never crosses a page (pages are multiples of 16
// positions), so keys are read page by page through the run's page table.
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

// Software prefetch. A task streams one segment of one head's keys and
// values, too short for the hardware prefetchers to ramp up, and the
// passes in between (softmax) read no memory, so without help a decode
// step at depth waits on every K and V line in turn. Each pass prefetches
// what it reads a few KiB ahead, spread over the loops that compute (a
// line every other step: a burst of prefetches stalls on the line-fill
// buffers as demand misses would); the first values are fetched during
// the softmax, and the next segment's first keys during the output pass.
// (Prefetching the values during the score pass instead doubled that
// pass's traffic and left the output pass with nothing to overlap: decode
// at depth from DRAM ran ~30% slower.)
constexpr int64_t kKeyPrefetchAhead = 8192;  // bytes (measured: 2-16 KiB within 3%)
constexpr int kMaxTaskRows = 256;
constexpr int64_t kValuePrefetchTiles = 2;   // tiles of values ahead            // query groups up to 256 heads

void prefetch_lines(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
}

// Scores of NR rows (qf rows hd apart) at NB blocks of 8 positions (kb:
// the first block's keys, dimension-major; blocks 8*hd apart) into s (rows
// `stride` apart). pk: 32 * hd bytes of keys further on to prefetch
// during the step, or null.
template <int NR, int NB>
void qk_tile(const float* qf, const uint16_t* kb, int hd, float scale, float* s, int64_t stride, const char* pk) {
  __m256 acc[NR][NB];
  for (int r = 0; r < NR; ++r) {
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  for (int i = 0; i < hd; ++i) {
    if (pk && (i & 1) == 0) _mm_prefetch(pk + 32 * i, _MM_HINT_T0);
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
void qk_rows(int n_rows, const float* qf, const uint16_t* kb, int hd, float scale, float* s, int64_t stride,
             const char* pk) {
  int r = 0;
  for (; r + 4 <= n_rows; r += 4) qk_tile<4, NB>(qf + r * hd, kb, hd, scale, s + r * stride, stride, r == 0 ? pk : nullptr);
  auto rest = [&](auto nr, int64_t) {
    qk_tile<decltype(nr)::value, NB>(qf + r * hd, kb, hd, scale, s + r * stride, stride, r == 0 ? pk : nullptr);
  };
  dispatch_act_count<3>(n_rows - r, 0, rest);
}

// Max of x[0..n), as the reference's `x > mx ? x : mx` (a NaN is never
// taken): _mm256_max_ps(x, m) is exactly that per lane. Four independent
// chains, since one waits on max's latency at every vector.
float row_max(const float* x, int64_t n) {
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    for (int c = 0; c < 4; ++c) m[c] = _mm256_max_ps(_mm256_loadu_ps(x + j + 8 * c), m[c]);
  }
  for (; j + 8 <= n; j += 8) m[0] = _mm256_max_ps(_mm256_loadu_ps(x + j), m[0]);
  alignas(32) float lanes[32];
  for (int c = 0; c < 4; ++c) _mm256_store_ps(lanes + 8 * c, m[c]);
  float mx = lanes[0];
  for (int k = 1; k < 32; ++k) mx = lanes[k] > mx ? lanes[k] : mx;
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

// x[j] = exp_softmax(x[j] - mx) for j < n and 0 up to the next multiple
// of 16 (the row has room); returns their sum as the reference forms it:
// 16 double lanes (lane k: positions k mod 16, in order), added pairwise.
double exp_sum_row(float* x, int64_t n, float mx) {
  const __m256 m = _mm256_set1_ps(mx);
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  auto put = [&](int64_t j, int h, __m256 e) {
    _mm256_storeu_ps(x + j + 8 * h, e);
    acc[2 * h] = _mm256_add_pd(acc[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    acc[2 * h + 1] = _mm256_add_pd(acc[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  };
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 x0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), m);
    const __m256 x1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), m);
    const __m256 in = _mm256_and_ps(exp_softmax_in_range_mask(x0), exp_softmax_in_range_mask(x1));
    if (_mm256_movemask_ps(in) == 0xFF) {  // always, unless a score is inf, NaN, masked or 87 below the max
      put(j, 0, exp8_softmax_in_range(x0));
      put(j, 1, exp8_softmax_in_range(x1));
    } else {
      put(j, 0, exp8_softmax(x0));
      put(j, 1, exp8_softmax(x1));
    }
  }
  if (j < n) {  // the last partial block: lanes at or past n become 0
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int h = 0; h < 2; ++h) {
      const __m256i left = _mm256_set1_epi32(static_cast<int>(n - j - 8 * h));
      const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(left, lane));
      put(j, h, _mm256_and_ps(exp8_softmax(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8 * h), m)), keep));
    }
  }
  const __m256d u = _mm256_add_pd(_mm256_add_pd(acc[0], acc[2]), _mm256_add_pd(acc[1], acc[3]));
  const __m128d v = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1));
  return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v)));
}

inline __m256 load_v8(const float* v) { return _mm256_loadu_ps(v); }
inline __m256 load_v8(const uint16_t* v) { return _mm256_cvtph_ps(load_u128(v)); }

template <int NR, int NV, typename VT>
void pv_tile(const float* p, int64_t p_stride, const VT* v, int64_t n, int hd, float* o, int64_t o_stride,
             const char* pf = nullptr) {
  __m256 acc[NR][NV];
  for (int r = 0; r < NR; ++r) {
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm256_loadu_ps(o + r * o_stride + 8 * c);
  }
  for (int64_t j = 0; j < n; ++j) {
    if (pf && (j & 1) == 0) _mm_prefetch(pf + 32 * j, _MM_HINT_T1);
    __m256 vj[NV];
    for (int c = 0; c < NV; ++c) vj[c] = load_v8(v + j * hd + 8 * c);
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

void attention_task_f16_avx2(const AttentionTask& task, float* scratch) {
  const AttentionBatch& b = *task.batch;
  const AttentionRun& run = *task.run;
  const AttentionShape& sh = b.shape;
  const KvPages& kv = b.kv;
  const int hd = sh.head_dim;
  const int group = sh.group();
  const int P = kv.page_slots;
  const AttentionScratch layout = AttentionScratch::for_shape(sh);
  const int64_t stride = layout.row_pad;
  const int n_rows = static_cast<int>((task.t1 - task.t0) * group);
  if (n_rows > layout.max_rows || n_rows > kMaxTaskRows || task.n_seg > kMaxTaskSegments) {
    throw Error("attention: task larger than its scratch");
  }
  float* S = scratch;                        // [max_rows][row_pad]
  float* qf = S + layout.max_rows * stride;  // [max_rows][hd]
  float* vt = qf + layout.max_rows * hd;     // [kVTile][hd]
  const int64_t s0 = task.s0;
  const int64_t span = task.n_seg * kAttentionSegment;
  const int64_t slot_first = run.slot0 + task.t0;  // slot of the block's first token
  auto row_u = [&](int r) { return r / group; };
  auto row_h = [&](int r) { return task.kvh * group + r % group; };
  // Positions of the task's segments row r sees (local: slot s0 + j).
  auto row_n = [&](int r) { return std::min(s0 + span, slot_first + row_u(r) + 1) - s0; };
  auto row_out = [&](int r, int64_t k) { return task.out_of(row_u(r), k) + static_cast<int64_t>(row_h(r)) * hd; };
  // Rows before r_lo see none of the segments.
  const int r_lo = static_cast<int>(std::max<int64_t>(0, s0 - slot_first)) * group;
  if (r_lo >= n_rows) return;
  const int64_t n_max = row_n(n_rows - 1);

  for (int r = r_lo; r < n_rows; ++r) {
    const float* q = b.q + (run.row0 + task.t0 + row_u(r)) * b.q_stride + static_cast<int64_t>(row_h(r)) * hd;
    for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(qf + r * hd + d, round_f16(_mm256_loadu_ps(q + d)));
  }

  // The key and value blocks, looked up once (pages are a power of two
  // positions: no division per step).
  const int shift = __builtin_ctz(static_cast<unsigned>(P));
  const uint16_t* kbase[kMaxTaskSegments * kAttentionSegment / 16];
  const uint16_t* vbase[kMaxTaskSegments * kAttentionSegment / 16];
  for (int64_t pi = 0; pi <= (n_max - 1) >> shift; ++pi) {
    const int32_t page = run.pages[(s0 >> shift) + pi];
    kbase[pi] = f16_keys(kv, page, task.kvh);
    vbase[pi] = f16_values(kv, page, task.kvh);
  }
  auto key_block = [&](int64_t j) {  // keys of local positions j.. (j a multiple of 8)
    return kbase[j >> shift] + ((j & (P - 1)) >> 3) * 8 * hd;
  };
  auto value_rows = [&](int64_t j) {  // values of local positions j.. (within one page)
    return vbase[j >> shift] + (j & (P - 1)) * hd;
  };
  const int64_t ahead = std::max<int64_t>(16, kKeyPrefetchAhead / (2 * hd) / 16 * 16);
  for (int64_t j = 0; j < std::min(ahead, n_max); j += 16) prefetch_lines(key_block(j), 32 * hd);

  // Scores of all the segments, 16 positions per step; only rows that see
  // the step compute it.
  for (int64_t jb = 0; jb < n_max; jb += 16) {
    const int nb = n_max - jb > 8 ? 2 : 1;
    const uint16_t* kb = key_block(jb);
    const char* pk = jb + ahead < n_max ? reinterpret_cast<const char*>(key_block(jb + ahead)) : nullptr;
    const int r0 = std::max(r_lo, static_cast<int>(std::max<int64_t>(0, s0 + jb - slot_first)) * group);
    if (nb == 2) {
      qk_rows<2>(n_rows - r0, qf + r0 * hd, kb, hd, b.scale, S + r0 * stride + jb, stride, pk);
    } else {
      qk_rows<1>(n_rows - r0, qf + r0 * hd, kb, hd, b.scale, S + r0 * stride + jb, stride, nullptr);
    }
  }

  // The first values are fetched while the softmax (which reads no
  // memory) runs.
  for (int64_t j = 0; j < std::min<int64_t>(kValuePrefetchTiles * P, n_max); j += P) {
    prefetch_lines(value_rows(j), std::min<int64_t>(P, n_max - j) * hd * 2);
  }

  // Masked positions, then softmax per row and segment (the reference's
  // operations), probabilities rounded to f16.
  bool empty[kMaxTaskRows][kMaxTaskSegments];
  for (int r = r_lo; r < n_rows; ++r) {
    const int64_t u = row_u(r);
    for (int64_t k = 0; k < task.n_seg; ++k) {
      const int64_t j0 = k * kAttentionSegment;
      const int64_t n = std::min(kAttentionSegment, row_n(r) - j0);
      if (n <= 0) break;
      float* row = S + r * stride + j0;
      if (run.mask) {
        const int64_t t = task.t0 + u;
        for (int64_t j = std::max<int64_t>(0, run.slot0 - s0 - j0); j < n; ++j) {
          if (!attention_row_sees(run, t, s0 + j0 + j)) row[j] = -std::numeric_limits<float>::infinity();
        }
      }
      const float mx = row_max(row, n);
      float* o = row_out(r, k);
      for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(o + d, _mm256_setzero_ps());
      float* smax = task.max[u] ? task.max[u] + k * task.seg_stat_stride + row_h(r) : nullptr;
      double* ssum = task.sum[u] ? task.sum[u] + k * task.seg_stat_stride + row_h(r) : nullptr;
      empty[r][k] = mx == -std::numeric_limits<float>::infinity();
      if (empty[r][k]) {  // every visible slot masked: p = 0 (the quad products read the row)
        for (int64_t j = 0; j < n; ++j) row[j] = 0.0f;
        if (smax) *smax = mx, *ssum = 0.0;
        continue;
      }
      const double sum = exp_sum_row(row, n, mx);
      const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
      for (int64_t j = 0; j < n; j += 8) _mm256_storeu_ps(row + j, round_f16(_mm256_mul_ps(_mm256_loadu_ps(row + j), inv)));
      if (smax) *smax = mx, *ssum = sum;
    }
  }

  // Output rows: sums over the pages in position order, each segment into
  // its own output. With query groups of 4 (or 8, ...) heads, 4 rows of
  // one token (same positions, consecutive outputs) take 16 dims per pass
  // with V read as f16: each element is converted once, as all 4 rows use
  // it, and a page stays in L1 for the hd/16 passes. Other groups convert
  // a small V tile to f32 once and reuse it per row.
  const bool quads = hd % 16 == 0 && group % 4 == 0;
  const int64_t tile = quads ? P : AttentionScratch::kVTile;
  // While this task computes its outputs, the first keys after its
  // segments (usually this thread's next task, same head) are fetched.
  if (slot_first + (task.t1 - task.t0) - 1 >= s0 + span) {
    const int32_t page = run.pages[(s0 + span) >> shift];
    prefetch_lines(f16_keys(kv, page, task.kvh), std::min<int64_t>(ahead, P) * hd * 2);
  }
  for (int64_t jt = 0; jt < n_max; jt += tile) {
    const int64_t m = std::min(tile, n_max - jt);
    const int64_t k = jt / kAttentionSegment;  // tiles never straddle segments
    const uint16_t* v = value_rows(jt);
    // Values kValuePrefetchTiles tiles on go to L2 (brought into L1 they
    // evicted the current tile), spread over the passes.
    const int64_t jn = jt + kValuePrefetchTiles * tile;
    const char* v_next = jn < n_max ? reinterpret_cast<const char*>(value_rows(jn)) : nullptr;
    const int r0 = std::max(r_lo, static_cast<int>(std::max<int64_t>(0, s0 + jt - slot_first)) * group);
    if (quads) {
      for (int r = r0; r < n_rows; r += 4) {
        const int64_t n = std::min(m, row_n(r) - jt);
        float* o = row_out(r, k);
        for (int d = 0; d < hd; d += 16) {
          const char* pf = r == r0 && v_next ? v_next + (d / 16) * tile * 32 : nullptr;
          pv_tile<4, 2>(S + r * stride + jt, stride, v + d, n, hd, o + d, hd, pf);
        }
      }
      continue;
    }
    if (v_next) prefetch_lines(v_next, std::min(tile, n_max - jn) * hd * 2);
    for (int64_t e = 0; e < m * hd; e += 8) _mm256_storeu_ps(vt + e, _mm256_cvtph_ps(load_u128(v + e)));
    for (int r = r0; r < n_rows; ++r) {
      if (empty[r][k]) continue;
      const int64_t n = std::min(m, row_n(r) - jt);
      const float* p = S + r * stride + jt;
      float* o = row_out(r, k);
      int d = 0;
      for (; d + 64 <= hd; d += 64) pv_tile<1, 8>(p, 0, vt + d, n, hd, o + d, 0);
      auto rest = [&](auto nv, int64_t) { pv_tile<1, decltype(nv)::value>(p, 0, vt + d, n, hd, o + d, 0); };
      dispatch_act_count<7>((hd - d) / 8, 0, rest);
    }
  }
}

}  // namespace kestrel
