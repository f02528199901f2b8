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
  const __m256 ninf = _mm256_set1_ps(kNegInf);
  __m256 gmax = ninf, nan_acc = _mm256_setzero_ps();
  const int64_t full = n / kBlock;
  for (int64_t b = 0; b < full; ++b) {
    const float* p = x + b * kBlock;
    __m256 v[8];
    for (int k = 0; k < 8; ++k) v[k] = _mm256_loadu_ps(p + k * kLanes);
    __m256 nan01 = _mm256_or_ps(_mm256_cmp_ps(v[0], v[1], _CMP_UNORD_Q), _mm256_cmp_ps(v[2], v[3], _CMP_UNORD_Q));
    __m256 nan23 = _mm256_or_ps(_mm256_cmp_ps(v[4], v[5], _CMP_UNORD_Q), _mm256_cmp_ps(v[6], v[7], _CMP_UNORD_Q));
    nan_acc = _mm256_or_ps(nan_acc, _mm256_or_ps(nan01, nan23));
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(v[0], v[1]), _mm256_max_ps(v[2], v[3])),
                                   _mm256_max_ps(_mm256_max_ps(v[4], v[5]), _mm256_max_ps(v[6], v[7])));
    bmax[b] = hmax8(m);
    gmax = _mm256_max_ps(gmax, m);
  }
  if (full * kBlock < n) {  // last, partial block
    __m256 m = ninf;
    for (int64_t i = full * kBlock; i < n; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = _mm256_blendv_ps(ninf, load_x(x, i, n, valid), _mm256_castsi256_ps(valid));
      nan_acc = _mm256_or_ps(nan_acc, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      m = _mm256_max_ps(m, v);
    }
    bmax[full] = hmax8(m);
    gmax = _mm256_max_ps(gmax, m);
  }
  st.max = hmax8(gmax);
  st.has_nan = _mm256_movemask_ps(nan_acc) != 0;
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

FiniteRange finite_range_avx2(const float* x, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(kNegInf), pinf = _mm256_set1_ps(kPosInf);
  __m256 vmin = pinf;
  int64_t count = 0;
  for (int64_t i = 0; i < n; i += kLanes) {
    const __m256i valid = valid_lanes(i, n);
    const __m256 v = load_x(x, i, n, valid);
    const __m256 fin = _mm256_and_ps(_mm256_cmp_ps(v, ninf, _CMP_NEQ_UQ), _mm256_castsi256_ps(valid));
    count += std::popcount(static_cast<unsigned>(_mm256_movemask_ps(fin)));
    vmin = _mm256_min_ps(vmin, _mm256_blendv_ps(pinf, v, fin));
  }
  return FiniteRange{count, hmin8(vmin)};
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
      const unsigned ge = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, vt, _CMP_GE_OQ))) & vmask;
      if (!ge) continue;  // the common case: nothing reaches t
      const unsigned gt = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, vt, _CMP_GT_OQ))) & vmask;
      unsigned eq = ge & ~gt;
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

template <int kNt, bool kMass>
void count_above_impl(const float* x, const int32_t* m, int64_t n, const float* t,
                      int64_t* counts, int64_t* masses) {
  __m256i cnt[kNt], mass[kNt];
  __m256 vt[kNt];
  for (int k = 0; k < kNt; ++k) {
    cnt[k] = _mm256_setzero_si256();
    mass[k] = _mm256_setzero_si256();
    vt[k] = _mm256_set1_ps(t[k]);
  }
  // Count lanes as int32 (subtracting all-ones masks) in chunks short
  // enough not to overflow, then widen.
  int64_t total[kNt] = {};
  for (int64_t start = 0; start < n; start += int64_t{1} << 27) {
    const int64_t stop = std::min(n, start + (int64_t{1} << 27));
    for (int64_t i = start; i < stop; i += kLanes) {
      const __m256i valid = valid_lanes(i, n);
      const __m256 v = load_x(x, i, n, valid);
      __m256i mv = _mm256_setzero_si256();
      if constexpr (kMass) mv = load_i32(m, i, n, valid);
      for (int k = 0; k < kNt; ++k) {
        const __m256i sel =
            _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(v, vt[k], _CMP_GT_OQ)), valid);
        cnt[k] = _mm256_sub_epi32(cnt[k], sel);
        if constexpr (kMass) mass[k] = widen_add(mass[k], _mm256_and_si256(mv, sel));
      }
    }
    for (int k = 0; k < kNt; ++k) {
      alignas(32) int32_t c[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(c), cnt[k]);
      for (int l = 0; l < 8; ++l) total[k] += static_cast<uint32_t>(c[l]);
      cnt[k] = _mm256_setzero_si256();
    }
  }
  for (int k = 0; k < kNt; ++k) {
    counts[k] = total[k];
    if (masses) masses[k] = kMass ? hsum_epi64(mass[k]) : 0;
  }
}

template <int kNt>
void count_above_nt(const float* x, const int32_t* m, int64_t n, const float* t, int64_t* counts,
                    int64_t* masses) {
  if (m) count_above_impl<kNt, true>(x, m, n, t, counts, masses);
  else count_above_impl<kNt, false>(x, m, n, t, counts, masses);
}

void count_above_avx2(const float* x, const int32_t* m, int64_t n, const float* t, int nt,
                      int64_t* counts, int64_t* masses) {
  switch (nt) {
    case 1: count_above_nt<1>(x, m, n, t, counts, masses); break;
    case 2: count_above_nt<2>(x, m, n, t, counts, masses); break;
    case 3: count_above_nt<3>(x, m, n, t, counts, masses); break;
    default: count_above_nt<4>(x, m, n, t, counts, masses); break;
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

struct SoftmaxConsts {
  __m256 vmax, vtemp, vmax_t, scale;
};

// One vector of the softmax pass: stores m and q as asked, adds q to the
// block's lane sums, returns the masses (zero if unwanted).
template <bool kTail, bool kMass, bool kStoreM, bool kQ, bool kUnit>
__attribute__((always_inline)) inline __m256i softmax_vec(const SoftmaxConsts& c, const float* x,
                                                          int64_t i, __m256i valid, int32_t* m_out,
                                                          float* q_out, __m256& lane_acc) {
  const __m256 v = kTail ? _mm256_maskload_ps(x + i, valid) : _mm256_loadu_ps(x + i);
  const __m256 e = exp8(_mm256_sub_ps(v, c.vmax));
  __m256i mi = _mm256_setzero_si256();
  if constexpr (kMass) {
    mi = _mm256_cvtps_epi32(_mm256_mul_ps(e, c.scale));
    if (kTail) mi = _mm256_and_si256(mi, valid);
    if constexpr (kStoreM) {
      if (kTail) _mm256_maskstore_epi32(reinterpret_cast<int*>(m_out + i), valid, mi);
      else _mm256_storeu_si256(reinterpret_cast<__m256i*>(m_out + i), mi);
    }
  }
  if constexpr (kQ) {
    __m256 q = kUnit ? e : exp8(_mm256_sub_ps(_mm256_div_ps(v, c.vtemp), c.vmax_t));
    if (kTail) {
      q = _mm256_and_ps(q, _mm256_castsi256_ps(valid));
      _mm256_maskstore_ps(q_out + i, valid, q);
    } else {
      _mm256_storeu_ps(q_out + i, q);
    }
    lane_acc = _mm256_add_ps(lane_acc, q);
  }
  return mi;
}

template <bool kMass, bool kStoreM, bool kQ, bool kUnit>
int64_t softmax_impl(const float* x, int64_t n, const SoftmaxConsts& c, int32_t* m_out,
                     float* q_out, float* bsum_out, double* q_total) {
  const __m256i all = _mm256_set1_epi32(-1);
  __m256i mass_acc0 = _mm256_setzero_si256(), mass_acc1 = _mm256_setzero_si256();
  double qsum = 0;
  const int64_t full = n / kBlock;
  for (int64_t b = 0; b < full; ++b) {
    __m256 acc = _mm256_setzero_ps();
    const int64_t begin = b * kBlock;
    for (int64_t k = 0; k < kBlock; k += 2 * kLanes) {
      // Masses are <= 2^30, so two of them fit a uint32 lane: widen per pair.
      const __m256i m0 = softmax_vec<false, kMass, kStoreM, kQ, kUnit>(c, x, begin + k, all, m_out, q_out, acc);
      const __m256i m1 = softmax_vec<false, kMass, kStoreM, kQ, kUnit>(c, x, begin + k + 8, all, m_out, q_out, acc);
      if constexpr (kMass) {
        if (k & (2 * kLanes)) mass_acc1 = widen_add(mass_acc1, _mm256_add_epi32(m0, m1));
        else mass_acc0 = widen_add(mass_acc0, _mm256_add_epi32(m0, m1));
      }
    }
    if constexpr (kQ) {
      const float sum = hsum8_canonical(acc);
      bsum_out[b] = sum;
      qsum += sum;
    }
  }
  if (full * kBlock < n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = full * kBlock; i < n; i += kLanes) {
      const __m256i mi = softmax_vec<true, kMass, kStoreM, kQ, kUnit>(c, x, i, valid_lanes(i, n), m_out, q_out, acc);
      if constexpr (kMass) mass_acc0 = widen_add(mass_acc0, mi);
    }
    if constexpr (kQ) {
      const float sum = hsum8_canonical(acc);
      bsum_out[full] = sum;
      qsum += sum;
    }
  }
  if constexpr (kQ) *q_total = qsum;
  return kMass ? hsum_epi64(_mm256_add_epi64(mass_acc0, mass_acc1)) : 0;
}

int64_t softmax_avx2(const float* x, int64_t n, float max, float temp, bool want_mass,
                     int32_t* m_out, float* q_out, float* bsum_out, double* q_total) {
  const SoftmaxConsts c{_mm256_set1_ps(max), _mm256_set1_ps(temp), _mm256_set1_ps(max / temp),
                        _mm256_set1_ps(kMassScale)};
  const bool unit = temp == 1.0f;
  if (!q_out) {
    if (m_out) return softmax_impl<true, true, false, true>(x, n, c, m_out, q_out, bsum_out, q_total);
    return softmax_impl<true, false, false, true>(x, n, c, m_out, q_out, bsum_out, q_total);
  }
  if (!want_mass) {
    if (unit) return softmax_impl<false, false, true, true>(x, n, c, m_out, q_out, bsum_out, q_total);
    return softmax_impl<false, false, true, false>(x, n, c, m_out, q_out, bsum_out, q_total);
  }
  if (m_out) {
    if (unit) return softmax_impl<true, true, true, true>(x, n, c, m_out, q_out, bsum_out, q_total);
    return softmax_impl<true, true, true, false>(x, n, c, m_out, q_out, bsum_out, q_total);
  }
  if (unit) return softmax_impl<true, false, true, true>(x, n, c, m_out, q_out, bsum_out, q_total);
  return softmax_impl<true, false, true, false>(x, n, c, m_out, q_out, bsum_out, q_total);
}

// Lanes of the vector at position i that belong to the pool of key.
inline __m256 pool_lanes(__m256 v, int64_t i, __m256 kx, int64_t key_pos) {
  const __m256 gt = _mm256_cmp_ps(v, kx, _CMP_GT_OQ);
  if (key_pos <= i) return gt;
  const __m256 ge = _mm256_cmp_ps(v, kx, _CMP_GE_OQ);
  if (key_pos >= i + kLanes) return ge;
  // Ties rank before key.pos only in the lanes left of it.
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(i)),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i before = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(key_pos)), idx);
  return _mm256_blendv_ps(gt, ge, _mm256_castsi256_ps(before));
}

// Masses of 8 lanes: stored (m) or derived from weights at temperature 1.
template <bool kTail>
inline __m256i load_mass(const int32_t* m, __m256 qv, int64_t i, __m256i valid) {
  if (m) return kTail ? _mm256_maskload_epi32(reinterpret_cast<const int*>(m + i), valid)
                      : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + i));
  return _mm256_cvtps_epi32(_mm256_mul_ps(qv, _mm256_set1_ps(kMassScale)));
}

template <bool kTail>
inline void pool2_vec(const float* x, const int32_t* m, const float* q, int64_t i, __m256i valid,
                      __m256 ax, int64_t apos, __m256 bx, int64_t bpos, __m256i& ma, __m256i& mb,
                      __m256& acc_a, __m256& acc_b) {
  const __m256 v = kTail ? _mm256_maskload_ps(x + i, valid) : _mm256_loadu_ps(x + i);
  const __m256 qv = kTail ? _mm256_maskload_ps(q + i, valid) : _mm256_loadu_ps(q + i);
  const __m256i mv = load_mass<kTail>(m, qv, i, valid);
  __m256 sa = pool_lanes(v, i, ax, apos), sb = pool_lanes(v, i, bx, bpos);
  if (kTail) {
    sa = _mm256_and_ps(sa, _mm256_castsi256_ps(valid));
    sb = _mm256_and_ps(sb, _mm256_castsi256_ps(valid));
  }
  ma = _mm256_and_si256(mv, _mm256_castps_si256(sa));
  mb = _mm256_and_si256(mv, _mm256_castps_si256(sb));
  acc_a = _mm256_add_ps(acc_a, _mm256_and_ps(qv, sa));
  acc_b = _mm256_add_ps(acc_b, _mm256_and_ps(qv, sb));
}

void pool_sums2_avx2(const float* x, const int32_t* m, const float* q, int64_t n, const float* bmax,
                     PoolKey a, PoolKey b, PoolSums* out_a, PoolSums* out_b) {
  const __m256 ax = _mm256_set1_ps(a.x), bx = _mm256_set1_ps(b.x);
  const __m256i all = _mm256_set1_epi32(-1);
  const float floor = std::min(a.x, b.x);
  __m256i mass_a = _mm256_setzero_si256(), mass_b = _mm256_setzero_si256();
  double wa = 0, wb = 0;
  const int64_t full = n / kBlock;
  for (int64_t blk = 0; blk < n_blocks(n); ++blk) {
    if (bmax[blk] < floor) continue;
    __m256 acc_a = _mm256_setzero_ps(), acc_b = _mm256_setzero_ps();
    const int64_t begin = blk * kBlock, end = std::min(n, begin + kBlock);
    if (blk < full) {
      for (int64_t i = begin; i < end; i += 2 * kLanes) {
        __m256i ma0, mb0, ma1, mb1;  // two masses (<= 2^30 each) per uint32 lane, then widen
        pool2_vec<false>(x, m, q, i, all, ax, a.pos, bx, b.pos, ma0, mb0, acc_a, acc_b);
        pool2_vec<false>(x, m, q, i + kLanes, all, ax, a.pos, bx, b.pos, ma1, mb1, acc_a, acc_b);
        mass_a = widen_add(mass_a, _mm256_add_epi32(ma0, ma1));
        mass_b = widen_add(mass_b, _mm256_add_epi32(mb0, mb1));
      }
    } else {
      for (int64_t i = begin; i < end; i += kLanes) {
        __m256i ma, mb;
        pool2_vec<true>(x, m, q, i, valid_lanes(i, n), ax, a.pos, bx, b.pos, ma, mb, acc_a, acc_b);
        mass_a = widen_add(mass_a, ma);
        mass_b = widen_add(mass_b, mb);
      }
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
      const __m256 sel = _mm256_and_ps(pool_lanes(v, i, kx, key.pos), _mm256_castsi256_ps(valid));
      acc = _mm256_add_ps(acc, _mm256_and_ps(qv, sel));
    }
    const float sum = hsum8_canonical(acc);
    if (run + sum > target) {
      *before = run;
      return blk;
    }
    run += sum;
  }
  *before = run;
  return -1;
}

const Kernels kAvx2Table = {
    "avx2",            scan_blocks_avx2, finite_range_avx2, compact_above_avx2, count_above_avx2,
    gather_range_avx2, softmax_avx2,     pool_sums2_avx2,   pool_find_block_avx2,
};

}  // namespace

const Kernels& kernels_avx2_table() { return kAvx2Table; }

}  // namespace kestrel::sampling
