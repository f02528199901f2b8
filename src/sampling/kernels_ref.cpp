// Scalar versions of the sampling passes (kernels.h), and the run-time choice
// between them and the AVX2 versions.
//
// The float sums of sampling weights follow the canonical order of kernels.h
// exactly (8 lane accumulators per 64-element block, then the pairwise
// reduction the AVX2 code does), so both tables give identical bits.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu_features.h"
#include "sampling/kernels.h"
#include "sampling/sampling_math.h"

namespace kestrel::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The AVX2 horizontal reduction of 8 lanes: (a0+a4 + a2+a6) + (a1+a5 + a3+a7).
float hsum8_canonical(const float* a) {
  const float u0 = a[0] + a[4], u1 = a[1] + a[5], u2 = a[2] + a[6], u3 = a[3] + a[7];
  const float w0 = u0 + u2, w1 = u1 + u3;
  return w0 + w1;
}

bool in_pool(float x, int64_t i, PoolKey k) { return x > k.x || (x == k.x && i < k.pos); }

// Canonical sum of q over block b, counting element i only when member(i).
template <typename Member>
float block_weight_sum(const float* q, int64_t n, int64_t b, Member member) {
  float lanes[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t base = b * kBlock;
  for (int64_t v = 0; v < kBlock / kLanes; ++v) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const int64_t i = base + v * kLanes + l;
      if (i < n && member(i)) lanes[l] += q[i];
    }
  }
  return hsum8_canonical(lanes);
}

ScanStats scan_blocks_ref(const float* x, int64_t n, float* bmax) {
  ScanStats st;
  st.max = kNegInf;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    float m = kNegInf;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) {
      if (x[i] != x[i]) st.has_nan = true;
      m = std::max(m, x[i]);
    }
    bmax[b] = m;
    st.max = std::max(st.max, m);
  }
  st.argmax = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] == st.max) {
      st.argmax = i;
      break;
    }
  }
  return st;
}

FiniteRange finite_range_ref(const float* x, int64_t n) {
  FiniteRange r;
  r.min = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] == kNegInf) continue;
    ++r.count;
    r.min = std::min(r.min, x[i]);
  }
  return r;
}

int64_t compact_above_ref(const float* x, const int32_t* ids, int64_t n, const float* bmax,
                          float t, int64_t max_eq, float* out_x, int32_t* out_ids) {
  int64_t k = 0, eq = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    if (bmax[b] < t) continue;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) {
      bool take = x[i] > t;
      if (!take && x[i] == t && eq < max_eq) {
        take = true;
        ++eq;
      }
      if (take) {
        out_x[k] = x[i];
        out_ids[k] = ids ? ids[i] : static_cast<int32_t>(i);
        ++k;
      }
    }
  }
  return k;
}

void count_above_ref(const float* x, const int32_t* m, int64_t n, const float* t, int nt,
                     int64_t* counts, int64_t* masses) {
  for (int k = 0; k < nt; ++k) {
    counts[k] = 0;
    if (masses) masses[k] = 0;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < nt; ++k) {
      if (x[i] > t[k]) {
        ++counts[k];
        if (m && masses) masses[k] += m[i];
      }
    }
  }
}

int64_t gather_range_ref(const float* x, const int32_t* m, int64_t n, const float* bmax, float lo,
                         float hi, float* out_x, int32_t* out_m, int64_t* out_pos) {
  int64_t k = 0;
  for (int64_t b = 0; b < n_blocks(n); ++b) {
    if (!(bmax[b] > lo)) continue;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) {
      if (x[i] > lo && x[i] <= hi) {
        out_x[k] = x[i];
        if (out_m) out_m[k] = m[i];
        out_pos[k] = i;
        ++k;
      }
    }
  }
  return k;
}

int64_t softmax_ref(const float* x, int64_t n, float max, float temp, bool want_mass,
                    int32_t* m_out, float* q_out, float* bsum_out, double* q_total) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (want_mass) {
      const int32_t m = mass_of_logit(x[i], max);
      if (m_out) m_out[i] = m;
      total += m;
    }
    if (q_out) q_out[i] = weight_at_temp(x[i], max, temp);
  }
  if (q_out) {
    double sum = 0;
    for (int64_t b = 0; b < n_blocks(n); ++b) {
      const float s = block_weight_sum(q_out, n, b, [](int64_t) { return true; });
      bsum_out[b] = s;
      sum += s;
    }
    *q_total = sum;
  }
  return total;
}

void pool_sums2_ref(const float* x, const int32_t* m, const float* q, int64_t n, const float* bmax,
                    PoolKey a, PoolKey b, PoolSums* out_a, PoolSums* out_b) {
  *out_a = PoolSums{};
  *out_b = PoolSums{};
  const float floor = std::min(a.x, b.x);
  for (int64_t blk = 0; blk < n_blocks(n); ++blk) {
    if (bmax[blk] < floor) continue;
    const int64_t end = std::min(n, (blk + 1) * kBlock);
    for (int64_t i = blk * kBlock; i < end; ++i) {
      const int32_t mi = m ? m[i] : mass_from_weight(q[i]);
      if (in_pool(x[i], i, a)) out_a->mass += mi;
      if (in_pool(x[i], i, b)) out_b->mass += mi;
    }
    out_a->weight += block_weight_sum(q, n, blk, [&](int64_t i) { return in_pool(x[i], i, a); });
    out_b->weight += block_weight_sum(q, n, blk, [&](int64_t i) { return in_pool(x[i], i, b); });
  }
}

int64_t pool_find_block_ref(const float* x, const float* q, int64_t n, const float* bmax,
                            PoolKey key, double target, double* before) {
  double run = 0;
  for (int64_t blk = 0; blk < n_blocks(n); ++blk) {
    if (bmax[blk] < key.x) continue;
    const float s = block_weight_sum(q, n, blk, [&](int64_t i) { return in_pool(x[i], i, key); });
    if (run + s > target) {
      *before = run;
      return blk;
    }
    run += s;
  }
  *before = run;
  return -1;
}

const Kernels kScalarTable = {
    "scalar",         scan_blocks_ref, finite_range_ref, compact_above_ref, count_above_ref,
    gather_range_ref, softmax_ref,     pool_sums2_ref,   pool_find_block_ref,
};

}  // namespace

const Kernels& kernels_scalar() { return kScalarTable; }

const Kernels* kernels_avx2() { return cpu_has_avx2() ? &kernels_avx2_table() : nullptr; }

const Kernels& kernels() { return use_avx2() ? kernels_avx2_table() : kScalarTable; }

}  // namespace kestrel::sampling
