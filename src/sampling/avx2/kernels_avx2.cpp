// AVX2 versions of the sampling passes of kernels.h: compare / mask /
// accumulate over 8 floats at a time, 8 vectors per 64-element block.
//
// They must match kernels_ref.cpp bit for bit (tests/unit/sampling checks
// it), so two rules hold throughout: the exp is the exact operation sequence
// of exp_for_sampling (explicit FMAs, never a separate multiply feeding an
// add, which GCC would fuse), and weight sums use the canonical lane order.
// Row tails shorter than a vector are read with masked loads and their
// invalid lanes are excluded from every mask.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <limits>

#include "sampling/kernels.h"
#include "sampling/sampling_math.h"

namespace kestrel::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

// Lane mask (all ones) for lanes l with base + l < n.
inline __m256i valid_lanes(int64_t base, int64_t n) {
  const int64_t left = n - base;
  if (left >= kLanes) return _mm256_set1_epi32(-1);
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(std::max<int64_t>(left, 0))), idx);
}

inline __m256 load_x(const float* x, int64_t base, int64_t n, __m256i valid) {
  if (n - base >= kLanes) return _mm256_loadu_ps(x + base);
  return _mm256_maskload_ps(x + base, valid);
}

inline __m256i load_i32(const int32_t* p, int64_t base, int64_t n, __m256i valid) {
  if (n - base >= kLanes) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + base));
  return _mm256_maskload_epi32(reinterpret_cast<const int*>(p + base), valid);
}

inline float hsum8_canonical(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline float hmin8(__m256 v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  s = _mm_min_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// Sum of the 8 int32 lanes of v (each in [0, 2^30]) widened to int64.
inline __m256i widen_add(__m256i acc, __m256i v) {
  const __m256i lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(v));
  const __m256i hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(v, 1));
  return _mm256_add_epi64(acc, _mm256_add_epi64(lo, hi));
}

inline int64_t hsum_epi64(__m256i v) {
  alignas(32) int64_t t[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t), v);
  return t[0] + t[1] + t[2] + t[3];
}

// exp_for_sampling, 8 lanes, same operation sequence.
inline __m256 exp8(__m256 x) {
  const __m256 ok = _mm256_cmp_ps(x, _mm256_set1_ps(kExpMin), _CMP_GE_OQ);
  x = _mm256_min_ps(x, _mm256_set1_ps(kExpMax));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 y = _mm256_set1_ps(kExpC0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpC1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpC2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpC3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpC4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kExpC5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  y = _mm256_fmadd_ps(y, r2, r);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(e)), ok);
}

ScanStats scan_blocks_avx2(const float* x, int64_t n, float* bmax) {
  ScanStats st;
  const __m256 ninf = _mm256_set1_ps(kNegInf), pinf = _mm256_set1_ps(kPosInf);
  __m256 vmin = pinf, gmax = ninf;
  __m256 nan_acc = _mm256_setzero_ps(), pinf_acc = _mm256_setzero_ps();
  int64_t finite = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    __m256 m = ninf;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 vm = _mm256_castsi256_ps(valid);
      __m256 v = load_x(x, i, n, valid);
      v = _mm256_blendv_ps(ninf, v, vm);  // invalid lanes act as -inf
      nan_acc = _mm256_or_ps(nan_acc, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      pinf_acc = _mm256_or_ps(pinf_acc, _mm256_cmp_ps(v, pinf, _CMP_EQ_OQ));
      const __m256 fin = _mm256_cmp_ps(v, ninf, _CMP_NEQ_UQ);
      finite += std::popcount(static_cast<unsigned>(_mm256_movemask_ps(fin)));
      vmin = _mm256_min_ps(vmin, _mm256_blendv_ps(pinf, v, fin));
      m = _mm256_max_ps(m, v);
    }
    bmax[b] = hmax8(m);
    gmax = _mm256_max_ps(gmax, m);
  }
  st.max = hmax8(gmax);
  st.min_finite = hmin8(vmin);
  st.n_finite = finite;
  st.has_nan = _mm256_movemask_ps(nan_acc) != 0;
  st.has_pos_inf = _mm256_movemask_ps(pinf_acc) != 0;
  st.argmax = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    if (bmax[b] != st.max) continue;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) {
      if (x[i] == st.max) {
        st.argmax = i;
        return st;
      }
    }
  }
  return st;
}

int64_t compact_above_avx2(const float* x, const int32_t* ids, int64_t n, const float* bmax,
                           float t, int64_t max_eq, float* out_x, int32_t* out_ids) {
  const __m256 vt = _mm256_set1_ps(t);
  int64_t k = 0, eq_left = max_eq;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    if (bmax[b] < t) continue;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = load_x(x, i, n, valid);
      const unsigned vmask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(valid)));
      const unsigned gt = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, vt, _CMP_GT_OQ))) & vmask;
      unsigned eq = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, vt, _CMP_EQ_OQ))) & vmask;
      const int n_eq = std::popcount(eq);
      if (n_eq > eq_left) {
        // Keep only the first eq_left tied lanes, in position order.
        unsigned kept = 0;
        for (unsigned e = eq; e && eq_left > 0; e &= e - 1, --eq_left) kept |= e & (~e + 1);
        eq = kept;
        eq_left = 0;
      } else {
        eq_left -= n_eq;
      }
      for (unsigned sel = gt | eq; sel; sel &= sel - 1) {
        const int64_t pos = i + std::countr_zero(sel);
        out_x[k] = x[pos];
        out_ids[k] = ids ? ids[pos] : static_cast<int32_t>(pos);
        ++k;
      }
    }
  }
  return k;
}

void count_above_avx2(const float* x, const int32_t* m, int64_t n, const float* t, int nt,
                      int64_t* counts, int64_t* masses) {
  __m256i cnt[4], mass[4];
  __m256 vt[4];
  for (int k = 0; k < nt; ++k) {
    cnt[k] = _mm256_setzero_si256();
    mass[k] = _mm256_setzero_si256();
    vt[k] = _mm256_set1_ps(t[k]);
  }
  for (int64_t i = 0; i < n; i += kLanes) {
    const __m256i valid = valid_lanes(i, n);
    const __m256 v = load_x(x, i, n, valid);
    const __m256i mv = m ? load_i32(m, i, n, valid) : _mm256_setzero_si256();
    for (int k = 0; k < nt; ++k) {
      const __m256i sel =
          _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, vt[k], _CMP_GT_OQ)), valid);
      cnt[k] = _mm256_sub_epi32(cnt[k], sel);
      if (m) mass[k] = widen_add(mass[k], _mm256_and_si256(mv, sel));
    }
  }
  for (int k = 0; k < nt; ++k) {
    alignas(32) int32_t c[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(c), cnt[k]);
    counts[k] = 0;
    for (int l = 0; l < 8; ++l) counts[k] += static_cast<uint32_t>(c[l]);
    if (masses) masses[k] = m ? hsum_epi64(mass[k]) : 0;
  }
}

int64_t gather_range_avx2(const float* x, const int32_t* m, int64_t n, const float* bmax, float lo,
                          float hi, float* out_x, int32_t* out_m, int64_t* out_pos) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  int64_t k = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    if (!(bmax[b] > lo)) continue;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = load_x(x, i, n, valid);
      const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, vlo, _CMP_GT_OQ), _mm256_cmp_ps(v, vhi, _CMP_LE_OQ));
      unsigned sel = static_cast<unsigned>(_mm256_movemask_ps(_mm256_and_ps(in, _mm256_castsi256_ps(valid))));
      for (; sel; sel &= sel - 1) {
        const int64_t pos = i + std::countr_zero(sel);
        out_x[k] = x[pos];
        if (out_m) out_m[k] = m[pos];
        out_pos[k] = pos;
        ++k;
      }
    }
  }
  return k;
}

int64_t softmax_avx2(const float* x, int64_t n, float max, float temp, int32_t* m_out, float* q_out,
                     float* bsum_out, double* q_total) {
  const __m256 vmax = _mm256_set1_ps(max);
  const __m256 vtemp = _mm256_set1_ps(temp);
  const __m256 vmax_t = _mm256_set1_ps(max / temp);
  const __m256 scale = _mm256_set1_ps(kMassScale);
  const bool unit_temp = temp == 1.0f;
  __m256i mass_acc = _mm256_setzero_si256();
  double qsum = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    __m256 lane_acc = _mm256_setzero_ps();
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const bool full = n - i >= kLanes;
      const __m256 v = load_x(x, i, n, valid);
      const __m256 e = exp8(_mm256_sub_ps(v, vmax));
      if (m_out) {
        const __m256i mi = _mm256_and_si256(_mm256_cvtps_epi32(_mm256_mul_ps(e, scale)), valid);
        if (full) _mm256_storeu_si256(reinterpret_cast<__m256i*>(m_out + i), mi);
        else _mm256_maskstore_epi32(reinterpret_cast<int*>(m_out + i), valid, mi);
        mass_acc = widen_add(mass_acc, mi);
      }
      if (q_out) {
        __m256 q = unit_temp ? e : exp8(_mm256_sub_ps(_mm256_div_ps(v, vtemp), vmax_t));
        q = _mm256_and_ps(q, _mm256_castsi256_ps(valid));
        if (full) _mm256_storeu_ps(q_out + i, q);
        else _mm256_maskstore_ps(q_out + i, valid, q);
        lane_acc = _mm256_add_ps(lane_acc, q);
      }
    }
    if (q_out) {
      const float s = hsum8_canonical(lane_acc);
      bsum_out[b] = s;
      qsum += s;
    }
  }
  if (q_out) *q_total = qsum;
  return m_out ? hsum_epi64(mass_acc) : 0;
}

// Lanes of the vector at position i that belong to the pool of key.
inline __m256 pool_lanes(__m256 v, int64_t i, __m256 kx, int64_t key_pos, __m256i valid) {
  const __m256 gt = _mm256_cmp_ps(v, kx, _CMP_GT_OQ);
  __m256 sel = gt;
  if (key_pos > i) {  // some lanes may rank before key.pos through a tie
    const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(i)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i before = _mm256_cmpgt_epi32(
        _mm256_set1_epi32(static_cast<int32_t>(std::min<int64_t>(key_pos, INT32_MAX))), idx);
    sel = _mm256_or_ps(gt, _mm256_and_ps(_mm256_cmp_ps(v, kx, _CMP_EQ_OQ), _mm256_castsi256_ps(before)));
  }
  return _mm256_and_ps(sel, _mm256_castsi256_ps(valid));
}

void pool_sums2_avx2(const float* x, const int32_t* m, const float* q, int64_t n, const float* bmax,
                     PoolKey a, PoolKey b, PoolSums* out_a, PoolSums* out_b) {
  const __m256 ax = _mm256_set1_ps(a.x), bx = _mm256_set1_ps(b.x);
  const float floor = std::min(a.x, b.x);
  __m256i mass_a = _mm256_setzero_si256(), mass_b = _mm256_setzero_si256();
  double wa = 0, wb = 0;
  for (int64_t blk = 0; blk < n_blocks(n); ++blk) {
    if (bmax[blk] < floor) continue;
    __m256 acc_a = _mm256_setzero_ps(), acc_b = _mm256_setzero_ps();
    const int64_t end = std::min(n, (blk + 1) * kBlock);
    for (int64_t i = blk * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = load_x(x, i, n, valid);
      const __m256 qv = load_x(q, i, n, valid);
      const __m256i mv = load_i32(m, i, n, valid);
      const __m256 sa = pool_lanes(v, i, ax, a.pos, valid);
      const __m256 sb = pool_lanes(v, i, bx, b.pos, valid);
      // Two masked masses (each <= 2^30) fit a uint32 lane before widening.
      mass_a = widen_add(mass_a, _mm256_and_si256(mv, _mm256_castps_si256(sa)));
      mass_b = widen_add(mass_b, _mm256_and_si256(mv, _mm256_castps_si256(sb)));
      acc_a = _mm256_add_ps(acc_a, _mm256_and_ps(qv, sa));
      acc_b = _mm256_add_ps(acc_b, _mm256_and_ps(qv, sb));
    }
    wa += hsum8_canonical(acc_a);
    wb += hsum8_canonical(acc_b);
  }
  out_a->mass = hsum_epi64(mass_a);
  out_a->weight = wa;
  out_b->mass = hsum_epi64(mass_b);
  out_b->weight = wb;
}

int64_t pool_find_block_avx2(const float* x, const float* q, int64_t n, const float* bmax,
                             PoolKey key, double target, double* before) {
  const __m256 kx = _mm256_set1_ps(key.x);
  double run = 0;
  for (int64_t blk = 0; blk < n_blocks(n); ++blk) {
    if (bmax[blk] < key.x) continue;
    __m256 acc = _mm256_setzero_ps();
    const int64_t end = std::min(n, (blk + 1) * kBlock);
    for (int64_t i = blk * kBlock; i < end; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = load_x(x, i, n, valid);
      const __m256 qv = load_x(q, i, n, valid);
      acc = _mm256_add_ps(acc, _mm256_and_ps(qv, pool_lanes(v, i, kx, key.pos, valid)));
    }
    const float s = hsum8_canonical(acc);
    if (run + s > target) {
      *before = run;
      return blk;
    }
    run += s;
  }
  *before = run;
  return -1;
}

const Kernels kAvx2Table = {
    "avx2",           scan_blocks_avx2, compact_above_avx2, count_above_avx2,
    gather_range_avx2, softmax_avx2,    pool_sums2_avx2,    pool_find_block_avx2,
};

}  // namespace

const Kernels& kernels_avx2_table() { return kAvx2Table; }

}  // namespace kestrel::sampling
