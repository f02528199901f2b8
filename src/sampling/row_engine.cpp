// RowEngine: the sorting-free filters and the rejection sampler (see
// row_engine.h for the algorithms and why they are exact).
#include "sampling/row_engine.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "sampling/sampling_math.h"

namespace kestrel::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kMaxEq = std::numeric_limits<int64_t>::max();
// A value bracket is narrowed until it holds at most this many elements,
// which are then gathered and ordered directly.
constexpr int64_t kBracketElems = 4096;
// Rejection rounds before falling back to the explicit top-p set; each round
// at least halves the logit interval, so this is never reached in practice.
constexpr int kMaxRounds = 64;

// Order-preserving map float -> uint32 (for bisection when value midpoints
// cannot split an interval).
uint32_t float_key(float f) {
  const uint32_t b = std::bit_cast<uint32_t>(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
float key_float(uint32_t k) {
  return std::bit_cast<float>((k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k);
}

// Up to 4 ascending thresholds strictly inside (lo, hi). lo may be -inf, in
// which case the smallest finite value starts the range.
int make_probes(float lo, float hi, float min_finite, float* out) {
  const bool open_lo = lo == kNegInf;
  const double a = open_lo ? static_cast<double>(min_finite) : static_cast<double>(lo);
  const double b = hi;
  float cand[4];
  int nc = 0;
  if (open_lo) cand[nc++] = min_finite;
  for (int k = 1; k <= 3; ++k) cand[nc++] = static_cast<float>(a + (b - a) * (k / 4.0));
  int np = 0;
  for (int k = 0; k < nc; ++k) {
    const float t = cand[k];
    if (t > lo && t < hi && (np == 0 || t > out[np - 1])) out[np++] = t;
  }
  if (np == 0 && !open_lo) {
    const uint32_t kl = float_key(lo), kh = float_key(hi);
    if (kh - kl >= 2) {
      const float mid = key_float(kl + (kh - kl) / 2);
      if (mid > lo && mid < hi) out[np++] = mid;
    }
  }
  return np;
}

}  // namespace

void RowEngine::begin(const float* logits, int64_t n_vocab) {
  k_ = forced_ ? forced_ : &kernels();
  if (n_vocab != n_vocab_) {
    n_vocab_ = n_vocab;
    const size_t n = static_cast<size_t>(n_vocab);
    own_copy_.resize(n);
    for (auto& c : cand_x_) c.resize(n);
    for (auto& c : cand_id_) c.resize(n);
    bmax_.resize(static_cast<size_t>(n_blocks(n_vocab)));
    m_.resize(n);
    q_.resize(n);
    bsum_.resize(static_cast<size_t>(n_blocks(n_vocab)));
    tmp_x_.resize(n);
    tmp_id_.resize(n);
    tmp_m_.resize(n);
    tmp_pos_.resize(n);
  }
  view_ = View{logits, nullptr, n_vocab};
  cur_cand_ = -1;
  own_ = false;
  stats_valid_ = false;
  mass_valid_ = false;
  m_stored_ = false;
  q_valid_ = false;
  rounds_last_ = 0;
}

int64_t RowEngine::find(int32_t id) const {
  if (!view_.ids) return (id >= 0 && id < view_.n) ? id : -1;
  const int32_t* end = view_.ids + view_.n;
  const int32_t* it = std::lower_bound(view_.ids, end, id);
  return (it != end && *it == id) ? (it - view_.ids) : -1;
}

const ScanStats& RowEngine::stats() {
  if (stats_valid_) return stats_;
  stats_ = k_->scan_blocks(view_.x, view_.n, bmax_.data());
  if (stats_.has_nan) {
    for (int64_t i = 0; i < view_.n; ++i) {
      if (view_.x[i] != view_.x[i]) {
        throw Error("sampling: logit of token " + std::to_string(id_at(i)) +
                    " is NaN (the model produced invalid logits)");
      }
    }
  }
  if (stats_.max == std::numeric_limits<float>::infinity()) {
    throw Error("sampling: logit of token " + std::to_string(id_at(stats_.argmax)) +
                " is +inf (the model produced invalid logits)");
  }
  if (stats_.max == kNegInf) {
    throw Error("sampling: every candidate logit is -inf; no token can be sampled");
  }
  stats_valid_ = true;
  finite_valid_ = false;
  return stats_;
}

const FiniteRange& RowEngine::finite() {
  stats();
  if (!finite_valid_) {
    finite_ = k_->finite_range(view_.x, view_.n);
    finite_valid_ = true;
  }
  return finite_;
}

float* RowEngine::writable() {
  if (cur_cand_ >= 0) return cand_x_[cur_cand_].data();
  if (!own_) {
    std::memcpy(own_copy_.data(), view_.x, static_cast<size_t>(view_.n) * sizeof(float));
    view_.x = own_copy_.data();
    own_ = true;
  }
  return own_copy_.data();
}

void RowEngine::switch_to_next(int64_t n) {
  const int next = cur_cand_ == 0 ? 1 : 0;
  view_ = View{cand_x_[next].data(), cand_id_[next].data(), n};
  cur_cand_ = next;
  own_ = false;
  stats_valid_ = false;
  mass_valid_ = false;
  m_stored_ = false;
  q_valid_ = false;
}

void RowEngine::set_candidates(const std::vector<int32_t>& ids, const std::vector<float>& x) {
  const int next = cur_cand_ == 0 ? 1 : 0;
  std::copy(x.begin(), x.end(), cand_x_[next].begin());
  std::copy(ids.begin(), ids.end(), cand_id_[next].begin());
  switch_to_next(static_cast<int64_t>(ids.size()));
}

bool RowEngine::find_top_by_blocks(int64_t c, TopSpec* out) {
  // The c-th largest maximum of disjoint groups of elements is a lower bound
  // of the c-th largest value: those c maxima are c distinct elements. Groups
  // of 8 blocks when there are still >= 4c of them (fewer values to select
  // from), else single blocks.
  const int64_t nb = n_blocks(view_.n);
  const int64_t g = (nb + 7) / 8 >= 4 * c ? 8 : 1;
  const int64_t ng = (nb + g - 1) / g;
  for (int64_t k = 0; k < ng; ++k) {
    const int64_t end = std::min(nb, (k + 1) * g);
    tmp_x_[static_cast<size_t>(k)] = *std::max_element(bmax_.begin() + k * g, bmax_.begin() + end);
  }
  std::nth_element(tmp_x_.begin(), tmp_x_.begin() + (c - 1), tmp_x_.begin() + ng, std::greater<float>());
  const float t0 = tmp_x_[static_cast<size_t>(c - 1)];
  if (t0 == kNegInf) return false;  // fewer than c blocks hold a finite value
  const int64_t cnt = k_->compact_above(view_.x, nullptr, view_.n, bmax_.data(), t0, kMaxEq,
                                        tmp_x_.data(), tmp_id_.data());
  std::nth_element(tmp_x_.begin(), tmp_x_.begin() + (c - 1), tmp_x_.begin() + cnt, std::greater<float>());
  const float tau = tmp_x_[static_cast<size_t>(c - 1)];
  int64_t above = 0;
  for (int64_t i = 0; i < cnt; ++i) above += tmp_x_[static_cast<size_t>(i)] > tau;
  *out = TopSpec{tau, c - above};
  return true;
}

TopSpec RowEngine::find_top_by_counts(int64_t c) {
  const ScanStats& st = stats();
  const int64_t n = view_.n;
  // A strided sample estimates where the c-th largest value lies; the first
  // count pass tests a bracket around the estimate (about 3 standard errors
  // of the sample rank each side) and counts the finite values.
  const int64_t stride = std::max<int64_t>(1, n / 4096);
  int64_t ns = 0;
  for (int64_t i = 0; i < n; i += stride) tmp_x_[static_cast<size_t>(ns++)] = view_.x[i];
  const double r = static_cast<double>(c) / static_cast<double>(stride);
  const double d = 3.0 * std::sqrt(r + 1.0) + 2.0;
  const int64_t r_hi = std::clamp<int64_t>(static_cast<int64_t>(r - d), 0, ns - 1);
  const int64_t r_lo = std::clamp<int64_t>(static_cast<int64_t>(r + d), r_hi, ns - 1);
  auto begin = tmp_x_.begin();
  std::nth_element(begin, begin + r_hi, begin + ns, std::greater<float>());
  const float t_hi = tmp_x_[static_cast<size_t>(r_hi)];
  std::nth_element(begin + r_hi, begin + r_lo, begin + ns, std::greater<float>());
  const float t_lo = tmp_x_[static_cast<size_t>(r_lo)];
  float t[4] = {kNegInf};
  int np = 1;
  for (float v : {t_lo, t_hi}) {
    if (v > t[np - 1] && v < st.max) t[np++] = v;
  }
  int64_t counts[4];
  k_->count_above(view_.x, nullptr, n, t, np, counts, nullptr);
  const int64_t n_finite = counts[0];
  if (c > n_finite) return TopSpec{kNegInf, c - n_finite};  // every finite one, then -inf ones
  float lo = kNegInf, hi = st.max;
  int64_t count_lo = n_finite, count_hi = 0;  // #{x > lo} >= c > #{x > hi}
  // Narrows [lo, hi] to the probes (ascending) that bracket the c-th value.
  auto narrow = [&](int first, int n_probes) {
    for (int k = first; k < n_probes; ++k) {
      if (counts[k] >= c) {
        lo = t[k];
        count_lo = counts[k];
      } else {
        hi = t[k];
        count_hi = counts[k];
        break;
      }
    }
  };
  narrow(1, np);
  while (count_lo - count_hi > kBracketElems) {
    const int np2 = make_probes(lo, hi, lo == kNegInf ? finite().min : lo, t);
    if (np2 == 0) break;
    k_->count_above(view_.x, nullptr, n, t, np2, counts, nullptr);
    narrow(0, np2);
  }
  const int64_t cnt = k_->gather_range(view_.x, nullptr, n, bmax_.data(), lo, hi, tmp_x_.data(),
                                       nullptr, tmp_pos_.data());
  const int64_t rank = c - 1 - count_hi;
  std::nth_element(begin, begin + rank, begin + cnt, std::greater<float>());
  const float tau = tmp_x_[static_cast<size_t>(rank)];
  int64_t above = count_hi;
  for (int64_t i = 0; i < cnt; ++i) above += tmp_x_[static_cast<size_t>(i)] > tau;
  return TopSpec{tau, c - above};
}

TopSpec RowEngine::find_top(int64_t c) {
  stats();
  if (c * 4 <= n_blocks(view_.n)) {
    TopSpec s;
    if (find_top_by_blocks(c, &s)) return s;
  }
  return find_top_by_counts(c);
}

void RowEngine::keep_spec(TopSpec s) {
  stats();  // bmax of the current view
  const int64_t cnt = k_->compact_above(view_.x, view_.ids, view_.n, bmax_.data(), s.tau, s.eq,
                                        next_x(), next_ids());
  switch_to_next(cnt);
}

void RowEngine::keep_top(int64_t c) {
  if (c >= view_.n) return;
  keep_spec(find_top(std::max<int64_t>(c, 1)));
}

void RowEngine::keep_min_p(float p, int64_t min_keep) {
  const ScanStats& st = stats();
  const float t = min_p_threshold(st.max, p);
  const int64_t keep = std::max<int64_t>(min_keep, 1);
  const int64_t cnt = k_->compact_above(view_.x, view_.ids, view_.n, bmax_.data(), t, kMaxEq,
                                        next_x(), next_ids());
  if (cnt >= keep) {
    switch_to_next(cnt);
  } else {
    keep_top(std::min(keep, view_.n));
  }
}

void RowEngine::ensure_masses() {
  if (m_stored_) return;
  const ScanStats& st = stats();
  mass_total_ = k_->softmax(view_.x, view_.n, st.max, 1.0f, true, m_.data(), nullptr, nullptr, nullptr);
  mass_valid_ = true;
  m_stored_ = true;
}

void RowEngine::prepare(float temp, bool need_masses) {
  const bool have_q = q_valid_ && q_temp_ == temp;
  // With weights at temperature 1 the masses follow from them (m = q * 2^30).
  const bool have_m = !need_masses || m_stored_ || (have_q && temp == 1.0f);
  if (have_q && have_m) return;
  const ScanStats& st = stats();
  if (!have_q) {
    const bool store_m = need_masses && !have_m && temp != 1.0f;
    const bool want = store_m || (need_masses && !mass_valid_);
    const int64_t total = k_->softmax(view_.x, view_.n, st.max, temp, want,
                                      store_m ? m_.data() : nullptr, q_.data(), bsum_.data(), &q_total_);
    if (want) {
      mass_total_ = total;
      mass_valid_ = true;
    }
    m_stored_ |= store_m;
    q_valid_ = true;
    q_temp_ = temp;
    return;
  }
  ensure_masses();
}

const int32_t* RowEngine::pool_masses() const {
  return m_stored_ ? m_.data() : nullptr;  // nullptr: derived from q at temperature 1
}

int64_t RowEngine::total_mass(float q_temp) {
  if (mass_valid_) return mass_total_;
  if (q_temp > 0) {
    prepare(q_temp, true);
  } else {  // the view will shrink before any draw: the total alone
    mass_total_ = k_->softmax(view_.x, view_.n, stats().max, 1.0f, true, nullptr, nullptr, nullptr, nullptr);
    mass_valid_ = true;
  }
  return mass_total_;
}

void RowEngine::keep_top_p_exact(const PendingTopP& pend, int64_t min_keep) {
  const ScanStats& st = stats();
  const double target = static_cast<double>(pend.p) * static_cast<double>(pend.total);
  if (!(target > 0)) {  // only the top token passes
    keep_top(std::max<int64_t>(min_keep, 1));
    return;
  }
  ensure_masses();
  if (static_cast<double>(mass_total_) < target) return;  // every candidate passes
  // Bracket (lo, hi] of the last kept value: G(lo) >= target > G(hi), with
  // G(t) = mass of {x > t}.
  const FiniteRange& fin = finite();
  float lo = kNegInf, hi = st.max;
  int64_t count_lo = fin.count, count_hi = 0, mass_hi = 0;
  while (count_lo - count_hi > kBracketElems) {
    float t[4];
    int64_t counts[4], masses[4];
    const int np = make_probes(lo, hi, fin.min, t);
    if (np == 0) break;
    k_->count_above(view_.x, m_.data(), view_.n, t, np, counts, masses);
    for (int k = 0; k < np; ++k) {
      if (static_cast<double>(masses[k]) >= target) {
        lo = t[k];
        count_lo = counts[k];
      } else {
        hi = t[k];
        count_hi = counts[k];
        mass_hi = masses[k];
        break;
      }
    }
  }
  const int64_t cnt = k_->gather_range(view_.x, m_.data(), view_.n, bmax_.data(), lo, hi,
                                       tmp_x_.data(), tmp_m_.data(), tmp_pos_.data());
  // Order the boundary bracket only (a few thousand elements at most).
  std::vector<int64_t> order(static_cast<size_t>(cnt));
  for (int64_t i = 0; i < cnt; ++i) order[static_cast<size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return ranks_before(tmp_x_[a], tmp_pos_[a], tmp_x_[b], tmp_pos_[b]);
  });
  int64_t s = mass_hi, kept = 0;
  for (int64_t r = 0; r < cnt; ++r) {
    if (!top_p_keeps(s, pend.total, pend.p)) break;
    s += tmp_m_[static_cast<size_t>(order[static_cast<size_t>(r)])];
    ++kept;
  }
  if (count_hi + kept < min_keep) {
    keep_top(std::min(min_keep, view_.n));
    return;
  }
  if (kept == 0) {
    keep_spec(TopSpec{hi, 0});
    return;
  }
  const float tau = tmp_x_[static_cast<size_t>(order[static_cast<size_t>(kept - 1)])];
  int64_t eq = 0;
  for (int64_t r = 0; r < kept; ++r) eq += tmp_x_[static_cast<size_t>(order[static_cast<size_t>(r)])] == tau;
  keep_spec(TopSpec{tau, eq});
}

const float* RowEngine::weights(float temp, double* total) {
  prepare(temp, false);
  *total = q_total_;
  return q_.data();
}

int64_t RowEngine::draw_in_pool(PoolKey key, double target, int64_t blk, double before) const {
  // Inside the chosen block, walk the pool members in order. The double sum
  // here and the block's float sum can differ in the last bit; if the walk
  // ends without passing the target, the last member with weight wins.
  const int64_t end = std::min(view_.n, (blk + 1) * kBlock);
  double acc = before;
  int64_t last = -1;
  for (int64_t i = blk * kBlock; i < end; ++i) {
    const float x = view_.x[i];
    if (!(x > key.x || (x == key.x && i < key.pos)) || !(q_[i] > 0)) continue;
    last = i;
    acc += q_[i];
    if (acc > target) return i;
  }
  return last;
}

std::vector<int64_t> RowEngine::top_positions(int64_t c) {
  c = std::min(c, view_.n);
  std::vector<int64_t> pos;
  if (c <= 0) return pos;
  const TopSpec s = find_top(c);
  const int64_t cnt = k_->compact_above(view_.x, nullptr, view_.n, bmax_.data(), s.tau, s.eq,
                                        tmp_x_.data(), tmp_id_.data());
  pos.assign(tmp_id_.begin(), tmp_id_.begin() + cnt);
  std::sort(pos.begin(), pos.end(), [&](int64_t a, int64_t b) {
    return ranks_before(view_.x[a], a, view_.x[b], b);
  });
  return pos;
}

int32_t RowEngine::sample(const PendingTopP* pending, float temp, Rng& rng, double* prob) {
  const ScanStats& st = stats();
  const int64_t n = view_.n;
  if (n == 1) {
    if (prob) *prob = 1.0;
    return id_at(0);
  }
  prepare(temp, pending != nullptr);
  const double q_total = q_total_;
  const PoolKey all{kNegInf, 0};
  auto draw_all = [&](double target) {
    double run = 0;
    const int64_t nb = n_blocks(n);
    for (int64_t b = 0; b < nb; ++b) {
      if (run + bsum_[b] > target) {
        const int64_t pos = draw_in_pool(all, target, b, run);
        if (pos >= 0) return pos;
      }
      run += bsum_[b];
    }
    return st.argmax;
  };
  rounds_last_ = 1;
  if (!pending) {
    const int64_t pos = draw_all(rng.uniform() * q_total);
    if (prob) *prob = q_[pos] / q_total;
    return id_at(pos);
  }

  // Rejection sampling (FlashInfer): draw j from the pool, test it against
  // the filter; on rejection everything ranked at or below j leaves the
  // pool. The midpoint pivot t1 between x_j and hi (all values above hi are
  // known to pass) decides whether the pool can shrink further to x > t1.
  PoolKey pool = all;
  double pool_weight = q_total;
  float hi = st.max;
  for (int round = 0; round < kMaxRounds; ++round) {
    rounds_last_ = round + 1;
    const double target = rng.uniform() * pool_weight;
    int64_t j;
    if (round == 0) {
      j = draw_all(target);
    } else {
      double before = 0;
      const int64_t blk = k_->pool_find_block(view_.x, q_.data(), n, bmax_.data(), pool, target, &before);
      j = blk >= 0 ? draw_in_pool(pool, target, blk, before) : st.argmax;
      if (j < 0) j = st.argmax;
    }
    if (j == st.argmax) return id_at(j);
    const float xj = view_.x[j];
    float t1 = static_cast<float>((static_cast<double>(xj) + static_cast<double>(hi)) * 0.5);
    t1 = std::clamp(t1, xj, hi);
    PoolSums above_j, above_t1;
    k_->pool_sums2(view_.x, pool_masses(), q_.data(), n, bmax_.data(), PoolKey{xj, j},
                   PoolKey{t1, 0}, &above_j, &above_t1);
    if (top_p_keeps(above_j.mass, pending->total, pending->p)) return id_at(j);
    if (top_p_keeps(above_t1.mass, pending->total, pending->p)) {
      hi = t1;  // everything above t1 passes; the boundary is in (x_j, t1]
      pool = PoolKey{xj, j};
      pool_weight = above_j.weight;
    } else {
      pool = PoolKey{t1, 0};  // nothing at or below t1 passes
      pool_weight = above_t1.weight;
    }
    if (!(pool_weight > 0)) return id_at(st.argmax);
  }
  keep_top_p_exact(*pending, 0);
  return sample(nullptr, temp, rng);
}

}  // namespace kestrel::sampling
