// The samplers of chain_internal.h. They follow llama.cpp's definitions; the
// probabilities they use are the engine's weights (exp_for_sampling), so
// decisions can differ from llama.cpp's float arithmetic only when a value
// sits within rounding of a threshold.
#include <algorithm>
#include <cmath>
#include <limits>

#include "sampling/chain_internal.h"
#include "sampling/sampling_math.h"

namespace kestrel::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Rebuilds the view from a set of positions (any order).
void keep_positions(RowEngine& e, std::vector<int64_t> pos) {
  std::sort(pos.begin(), pos.end());
  std::vector<int32_t> ids(pos.size());
  std::vector<float> x(pos.size());
  for (size_t i = 0; i < pos.size(); ++i) {
    ids[i] = e.id_at(pos[i]);
    x[i] = e.view().x[pos[i]];
  }
  e.set_candidates(ids, x);
}

}  // namespace

void apply_top_n_sigma(RowEngine& e, float n) {
  if (n <= 0 || e.size() <= 1) return;
  e.stats();  // validates the row
  const View v = e.view();
  float max = kNegInf;
  double sum = 0;
  int64_t cnt = 0;
  for (int64_t i = 0; i < v.n; ++i) {
    if (v.x[i] == kNegInf) continue;
    max = std::max(max, v.x[i]);
    sum += v.x[i];
    ++cnt;
  }
  const double mean = cnt ? sum / static_cast<double>(cnt) : 0.0;
  double acc = 0;
  for (int64_t i = 0; i < v.n; ++i) {
    if (v.x[i] != kNegInf) acc += (v.x[i] - mean) * (v.x[i] - mean);
  }
  const float sd = cnt ? static_cast<float>(std::sqrt(acc / static_cast<double>(cnt))) : 0.0f;
  const float threshold = max - n * sd;
  bool any = false;
  for (int64_t i = 0; i < v.n && !any; ++i) any = v.x[i] < threshold;
  if (!any) return;
  float* w = e.writable();
  for (int64_t i = 0; i < e.size(); ++i) {
    if (w[i] < threshold) w[i] = kNegInf;
  }
  e.values_changed();
}

void apply_typical(RowEngine& e, float p, int64_t min_keep) {
  if (p >= 1.0f) return;
  const int64_t n = e.size();
  double total = 0;
  const float* q = e.weights(1.0f, &total);
  std::vector<double> prob(static_cast<size_t>(n)), score(static_cast<size_t>(n));
  double entropy = 0;
  for (int64_t i = 0; i < n; ++i) {
    prob[i] = q[i] / total;
    if (prob[i] > 0) entropy -= prob[i] * std::log(prob[i]);
  }
  for (int64_t i = 0; i < n; ++i) {
    score[i] = prob[i] > 0 ? std::fabs(-std::log(prob[i]) - entropy)
                           : std::numeric_limits<double>::infinity();
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  const float* x = e.view().x;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (score[a] != score[b]) return score[a] < score[b];
    return ranks_before(x[a], a, x[b], b);
  });
  double cum = 0;
  size_t last = order.size();
  for (size_t i = 0; i < order.size(); ++i) {
    cum += prob[order[i]];
    if (cum > p && (min_keep == 0 || static_cast<int64_t>(i) >= min_keep - 1)) {
      last = i + 1;
      break;
    }
  }
  order.resize(last);
  keep_positions(e, std::move(order));
}

void apply_xtc(RowEngine& e, float probability, float threshold, int64_t min_keep, Rng& coin) {
  if (probability <= 0.0f || threshold > 0.5f || e.size() < 2) return;
  if (coin.uniform_float() > probability) return;
  const int64_t n = e.size();
  double total = 0;
  const float* q = e.weights(1.0f, &total);
  std::vector<int64_t> top;  // probability >= threshold: a prefix of the ranking
  for (int64_t i = 0; i < n; ++i) {
    if (static_cast<float>(q[i] / total) >= threshold) top.push_back(i);
  }
  const int64_t pos_last = static_cast<int64_t>(top.size()) - 1;
  if (pos_last <= 0 || n - pos_last < min_keep) return;
  // Keep the least likely of the top tokens, drop the others.
  const float* x = e.view().x;
  int64_t keep_top = top[0];
  for (int64_t i : top) {
    if (ranks_before(x[keep_top], keep_top, x[i], i)) keep_top = i;
  }
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(n - pos_last));
  size_t t = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (t < top.size() && top[t] == i) {
      ++t;
      if (i != keep_top) continue;
    }
    keep.push_back(i);
  }
  keep_positions(e, std::move(keep));
}

float dynamic_temperature(RowEngine& e, float temp, float range, float exponent) {
  const int64_t n = e.size();
  if (n <= 1) return 1.0f;  // llama.cpp leaves a single candidate unscaled
  const float min_temp = std::max(0.0f, temp - range);
  const float max_temp = temp + range;
  const float max_entropy = -std::log(1.0f / static_cast<float>(n));
  double total = 0;
  const float* q = e.weights(1.0f, &total);
  double entropy = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double p = q[i] / total;
    if (p > 0) entropy -= p * std::log(p);
  }
  const float normalized = static_cast<float>(entropy) / max_entropy;
  return min_temp + (max_temp - min_temp) * std::pow(normalized, exponent);
}

int32_t mirostat_v1(RowEngine& e, int32_t n_vocab, float tau, float eta, float& mu, Rng& rng) {
  constexpr int64_t kM = 100;  // llama.cpp's m: tokens used to estimate s_hat
  const int64_t n = e.size();
  double total = 0;
  const float* q = e.weights(1.0f, &total);
  const std::vector<int64_t> top = e.top_positions(std::min(kM, n));
  float sum_ti_bi = 0, sum_ti_sq = 0;
  for (size_t i = 0; i + 1 < top.size() && static_cast<int64_t>(i) < kM - 1; ++i) {
    const float t_i = std::log(static_cast<float>(i + 2) / static_cast<float>(i + 1));
    const float p_i = static_cast<float>(q[top[i]] / total);
    const float p_next = static_cast<float>(q[top[i + 1]] / total);
    const float b_i = std::log(p_i / p_next);
    sum_ti_bi += t_i * b_i;
    sum_ti_sq += t_i * t_i;
  }
  const float s_hat = sum_ti_bi / sum_ti_sq;
  const float eps_hat = s_hat - 1;
  const float k = std::pow((eps_hat * std::pow(2.0f, mu)) /
                               (1 - std::pow(static_cast<float>(n_vocab), -eps_hat)),
                           1 / s_hat);
  int64_t kk = 1;
  if (k >= static_cast<float>(n)) kk = n;
  else if (k >= 1.0f) kk = static_cast<int64_t>(k);
  e.keep_top(kk);
  double p_sel = 1;
  const int32_t token = e.sample(nullptr, 1.0f, rng, &p_sel);
  mu -= eta * (-std::log2(static_cast<float>(p_sel)) - tau);
  return token;
}

int32_t mirostat_v2(RowEngine& e, float tau, float eta, float& mu, Rng& rng) {
  const ScanStats& st = e.stats();
  const int64_t n = e.size();
  double total = 0;
  const float* q = e.weights(1.0f, &total);
  // Keep tokens whose surprise -log2 p is <= mu. Tokens more than 0.01 in
  // logit below the exact bound are out by a margin far above rounding, so
  // only the others are tested one by one.
  const float bound = st.max + static_cast<float>(std::log(total) - mu * std::log(2.0)) - 0.01f;
  std::vector<int64_t> keep;
  const float* x = e.view().x;
  for (int64_t i = 0; i < n; ++i) {
    if (!(x[i] >= bound)) continue;
    const float p = static_cast<float>(q[i] / total);
    if (!(-std::log2(p) > mu)) keep.push_back(i);
  }
  if (keep.empty()) keep.push_back(st.argmax);
  keep_positions(e, std::move(keep));
  double p_sel = 1;
  const int32_t token = e.sample(nullptr, 1.0f, rng, &p_sel);
  mu -= eta * (-std::log2(static_cast<float>(p_sel)) - tau);
  return token;
}

}  // namespace kestrel::sampling
