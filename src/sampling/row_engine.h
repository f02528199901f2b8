// Sorting-free filtering and sampling of one row of logits.
//
// The engine holds the current candidate set ("view") of a row: at first the
// caller's logits (every token, id = position), later a compact list of
// (logit, id) pairs in ascending id order. Filters that keep a prefix of the
// ranking of sampling_math.h are done without sorting:
//  * top-k: the k-th best value is found by a threshold search. For small k
//    the k-th largest maximum of groups of blocks is a guaranteed lower
//    bound, so only the blocks reaching it are scanned; for large k, a
//    strided sample guesses a value bracket and vectorized count passes
//    narrow it to a few thousand elements. Ties at the boundary keep the
//    lowest ids, so exactly k survive.
//  * min-p: a fixed logit threshold (max + log p), one compaction pass over
//    the blocks whose maximum reaches it.
//  * top-p: FlashInfer's rejection sampling (see sample()): draw from the
//    candidates above a pivot, test the draw against the filter with one
//    mass pass, raise the pivot on rejection. A second, midpoint pivot halves
//    the logit interval each round, so rounds are logarithmic. When a later
//    sampler needs the explicit top-p set, keep_top_p_exact() finds it with
//    mass passes and sorts only the few thousand elements at the boundary.
// Every decision is an exact comparison (integer masses, identical floats),
// so the result equals the sort-based definition exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/kernels.h"
#include "sampling/rng.h"

namespace kestrel::sampling {

struct View {
  const float* x = nullptr;
  const int32_t* ids = nullptr;  // nullptr: id = position
  int64_t n = 0;
};

// A prefix of the ranking: every element with x > tau, and the first `eq`
// elements (by position, so by id) with x == tau.
struct TopSpec {
  float tau;
  int64_t eq;
};

// A top-p filter waiting to be applied: keep r iff top_p_keeps(S_r, total, p),
// with masses taken relative to the view's maximum. Filters applied after it
// that keep a prefix (top-k, min-p) do not disturb it.
struct PendingTopP {
  float p = 1.0f;
  int64_t total = 0;
};

class RowEngine {
 public:
  RowEngine() = default;
  // Pins a kernel table (tests); nullptr: kernels() at each begin().
  void set_kernels(const Kernels* k) { forced_ = k; }

  // Starts a row on the caller's logits (read, never written).
  void begin(const float* logits, int64_t n_vocab);

  const View& view() const { return view_; }
  int64_t size() const { return view_.n; }
  int32_t id_at(int64_t pos) const {
    return view_.ids ? view_.ids[pos] : static_cast<int32_t>(pos);
  }
  // Position of a token in the view, or -1.
  int64_t find(int32_t id) const;

  // Max, argmax, ... of the view. Throws kestrel::Error for NaN, +inf, or a
  // row with no finite logit.
  const ScanStats& stats();
  // Count and minimum of the finite logits (an extra pass, done on demand).
  const FiniteRange& finite();

  // Writable values of the view (copies the caller's row first when needed);
  // call values_changed() after writing.
  float* writable();
  void values_changed() {
    stats_valid_ = false;
    mass_valid_ = false;
    m_stored_ = false;
    q_valid_ = false;
  }

  // Prefix filters.
  TopSpec find_top(int64_t c);
  void keep_top(int64_t c);
  void keep_spec(TopSpec s);
  void keep_min_p(float p, int64_t min_keep);
  // Integer mass of the view relative to its maximum (Z of sampling_math.h).
  // When the masses are not known yet, the same pass also prepares the
  // weights at q_temp (> 0) for a later draw at that temperature; q_temp = 0
  // when the view will shrink first (nothing worth keeping).
  int64_t total_mass(float q_temp = 1.0f);
  // Applies a pending top-p exactly (plus min_keep).
  void keep_top_p_exact(const PendingTopP& p, int64_t min_keep);

  // Replaces the view by an explicit candidate list (ids ascending).
  void set_candidates(const std::vector<int32_t>& ids, const std::vector<float>& x);

  // Sampling weights of the view at `temp` (q_i = weight_at_temp); returns
  // a pointer to n weights and their total.
  const float* weights(float temp, double* total);

  // Positions of the best c candidates, best first (sorts only those c).
  std::vector<int64_t> top_positions(int64_t c);

  // Draws one token from the view at `temp` (> 0), restricted to a pending
  // top-p when one is given. Without a pending filter, *prob receives the
  // drawn token's probability when prob is not null.
  int32_t sample(const PendingTopP* pending, float temp, Rng& rng, double* prob = nullptr);

  // Counters for tests and benchmarks.
  int64_t rounds_last() const { return rounds_last_; }

 private:
  float* next_x() { return cand_x_[cur_cand_ == 0 ? 1 : 0].data(); }
  int32_t* next_ids() { return cand_id_[cur_cand_ == 0 ? 1 : 0].data(); }
  void switch_to_next(int64_t n);
  void ensure_masses();
  // Weights at temp in q_ and, when need_masses, the masses in m_ (or
  // derivable from q_): one exp pass at most.
  void prepare(float temp, bool need_masses);
  const int32_t* pool_masses() const;
  int64_t draw_in_pool(PoolKey key, double target, int64_t blk, double before) const;
  bool find_top_by_blocks(int64_t c, TopSpec* out);
  TopSpec find_top_by_counts(int64_t c);

  const Kernels* k_ = nullptr;
  const Kernels* forced_ = nullptr;

  int64_t n_vocab_ = 0;
  View view_;
  int cur_cand_ = -1;  // which cand buffer holds the view; -1: raw row or own_
  bool own_ = false;   // view is own_copy_
  std::vector<float> own_copy_;
  std::vector<float> cand_x_[2];
  std::vector<int32_t> cand_id_[2];
  std::vector<float> bmax_;
  std::vector<int32_t> m_;
  std::vector<float> q_;
  std::vector<float> bsum_;
  std::vector<float> tmp_x_;
  std::vector<int32_t> tmp_id_;
  std::vector<int32_t> tmp_m_;
  std::vector<int64_t> tmp_pos_;
  ScanStats stats_;
  FiniteRange finite_;
  bool stats_valid_ = false;
  bool finite_valid_ = false;
  bool mass_valid_ = false;  // mass_total_ describes the view
  bool m_stored_ = false;    // m_ holds the masses of the view
  bool q_valid_ = false;     // q_ / bsum_ / q_total_ are the weights at q_temp_
  float q_temp_ = 1.0f;
  int64_t mass_total_ = 0;
  double q_total_ = 0;
  int64_t rounds_last_ = 0;
};

}  // namespace kestrel::sampling
