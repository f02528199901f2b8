// Vectorizable passes over one row of candidate logits, the building blocks of
// the sorting-free filters (see row_engine.h for how they are combined).
//
// Each pass exists twice, a scalar version (kernels_ref.cpp) and an AVX2
// version (avx2/kernels_avx2.cpp), behind the table below. Both produce
// bit-identical results: integer counts and masses are exact, and the float
// sums of sampling weights are accumulated in one canonical order (8 lanes
// over a 64-element block, then a fixed pairwise reduction, then blocks in
// order in double), which the scalar code emulates. So a fixed seed gives the
// same tokens with or without AVX2.
//
// A row is split into blocks of kBlock elements; per-block maxima let passes
// skip blocks that cannot hold a qualifying element.
#pragma once

#include <cstdint>

namespace kestrel::sampling {

constexpr int64_t kBlock = 64;
constexpr int64_t kLanes = 8;

inline int64_t n_blocks(int64_t n) { return (n + kBlock - 1) / kBlock; }

struct ScanStats {
  float max = 0.0f;      // largest logit (+inf / -inf / NaN rows are the caller's errors)
  int64_t argmax = 0;    // first position holding it
  bool has_nan = false;
};

struct FiniteRange {
  int64_t count = 0;     // elements other than -inf
  float min = 0.0f;      // smallest of them
};

// A pool of candidates "above" a key: element i is in it when x_i > key.x, or
// x_i == key.x and i < key.pos (it ranks before position key.pos). The pool
// of everything finite is {-inf, 0}.
struct PoolKey {
  float x;
  int64_t pos;
};

struct PoolSums {
  int64_t mass = 0;  // sum of integer masses m_i over the pool
  double weight = 0; // sum of sampling weights q_i over the pool (canonical order)
};

struct Kernels {
  const char* name;

  // bmax[b] = max of block b (-inf for an all -inf block); stats of the row.
  ScanStats (*scan_blocks)(const float* x, int64_t n, float* bmax);

  // Count and minimum of the elements other than -inf.
  FiniteRange (*finite_range)(const float* x, int64_t n);

  // Copies, in position order, every element with x > t and the first max_eq
  // elements with x == t to out_x / out_ids (ids == nullptr: id = position).
  // Blocks with bmax < t are skipped. Returns the number written.
  int64_t (*compact_above)(const float* x, const int32_t* ids, int64_t n, const float* bmax,
                           float t, int64_t max_eq, float* out_x, int32_t* out_ids);

  // For each of nt <= 4 thresholds: counts[k] = #{x > t[k]}, and when m is
  // not null masses[k] = sum of m over the same elements.
  void (*count_above)(const float* x, const int32_t* m, int64_t n, const float* t, int nt,
                      int64_t* counts, int64_t* masses);

  // Elements with lo < x <= hi: their values, masses (when m is not null) and
  // positions, in position order. Returns the number written.
  int64_t (*gather_range)(const float* x, const int32_t* m, int64_t n, const float* bmax,
                          float lo, float hi, float* out_x, int32_t* out_m, int64_t* out_pos);

  // One exp pass. With want_mass: returns the total of m_i =
  // mass_of_logit(x_i, max), and stores them when m_out is not null. With
  // q_out: q_i = weight_at_temp(x_i, max, temp), the canonical per-block sums
  // go to bsum_out and their total to *q_total.
  int64_t (*softmax)(const float* x, int64_t n, float max, float temp, bool want_mass,
                     int32_t* m_out, float* q_out, float* bsum_out, double* q_total);

  // Mass and weight of two pools in one pass (m and q as written by softmax;
  // m == nullptr: q are the weights at temperature 1 and m_i is derived as
  // mass_from_weight(q_i), the same number).
  void (*pool_sums2)(const float* x, const int32_t* m, const float* q, int64_t n,
                     const float* bmax, PoolKey a, PoolKey b, PoolSums* out_a, PoolSums* out_b);

  // Walks the blocks of a pool in order, adding their canonical weight sums,
  // and returns the first block whose sum takes the running total above
  // target (*before = the total before that block), or -1 when none does.
  int64_t (*pool_find_block)(const float* x, const float* q, int64_t n, const float* bmax,
                             PoolKey key, double target, double* before);
};

// The AVX2 table when the CPU has AVX2 and KESTREL_FORCE_SCALAR is not set,
// else the scalar one.
const Kernels& kernels();
const Kernels& kernels_scalar();
// nullptr when the CPU cannot run it.
const Kernels* kernels_avx2();

// Defined in avx2/kernels_avx2.cpp (compiled with AVX2 flags; call only when
// cpu_has_avx2()).
const Kernels& kernels_avx2_table();

}  // namespace kestrel::sampling
