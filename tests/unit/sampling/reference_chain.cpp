// The sort-based oracle of reference_chain.h, following llama.cpp's
// llama-sampler.cpp sampler by sampler.
#include "reference_chain.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "sampling/sampling_math.h"

namespace kestrel::test {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

float max_logit(const std::vector<RefCand>& c) {
  float m = kNegInf;
  for (const RefCand& x : c) m = std::max(m, x.logit);
  return m;
}

// Softmax in double (the oracle's probabilities).
std::vector<double> softmax(const std::vector<RefCand>& c) {
  const double m = max_logit(c);
  std::vector<double> p(c.size());
  double sum = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    p[i] = c[i].logit == kNegInf ? 0.0 : std::exp(static_cast<double>(c[i].logit) - m);
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

std::vector<RefCand> ref_candidates(const float* logits, int n_vocab) {
  std::vector<RefCand> c(static_cast<size_t>(n_vocab));
  for (int i = 0; i < n_vocab; ++i) c[static_cast<size_t>(i)] = {i, logits[i]};
  return c;
}

void ref_sort(std::vector<RefCand>& c) {
  std::sort(c.begin(), c.end(), [](const RefCand& a, const RefCand& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
}

void ref_logit_bias(std::vector<RefCand>& c, const std::vector<LogitBias>& biases) {
  for (const LogitBias& b : biases) {
    for (RefCand& x : c) {
      if (x.id == b.token) x.logit += b.bias;
    }
  }
}

void ref_penalties(std::vector<RefCand>& c, const std::vector<int32_t>& history, int last_n,
                   float repeat, float freq, float present) {
  if (last_n == 0 || (repeat == 1.0f && freq == 0.0f && present == 0.0f)) return;
  std::map<int32_t, int> count;
  const size_t start = history.size() > static_cast<size_t>(last_n) ? history.size() - last_n : 0;
  for (size_t i = start; i < history.size(); ++i) ++count[history[i]];
  for (RefCand& x : c) {
    auto it = count.find(x.id);
    if (it == count.end()) continue;
    x.logit = x.logit <= 0 ? x.logit * repeat : x.logit / repeat;
    x.logit -= static_cast<float>(it->second) * freq + present;
  }
}

void ref_dry(std::vector<RefCand>& c, const std::vector<int32_t>& history, float multiplier,
             float base, int allowed_length, int last_n,
             const std::vector<std::vector<int32_t>>& breakers) {
  if (multiplier == 0.0f || base < 1.0f || last_n == 0) return;
  const int n = std::min<int>(static_cast<int>(history.size()), last_n);
  if (n <= allowed_length) return;
  // back(i): the token i steps before the newest.
  auto back = [&](int i) { return history[history.size() - 1 - static_cast<size_t>(i)]; };
  // The newest complete breaker sequence limits the repeat length.
  int rep_limit = n;
  for (int i = 0; i < n && rep_limit == n; ++i) {
    int longest = -1;
    for (const auto& s : breakers) {
      const int tail = static_cast<int>(s.size()) - 1;
      if (s.empty() || s[0] != back(i) || tail > i || tail <= longest) continue;
      bool ok = true;
      for (int o = 0; o < tail && ok; ++o) ok = s[static_cast<size_t>(o + 1)] == back(i - o - 1);
      if (ok) longest = tail;
    }
    if (longest >= 0) rep_limit = i - longest;
  }
  if (rep_limit < allowed_length) return;
  // For each earlier end point k: how many tokens before it match the newest
  // tokens; the token that followed it would extend that repeat.
  std::map<int32_t, int> max_len;
  for (int k = 1; k < n; ++k) {
    int len = 0;
    while (k + len < n && back(len) == back(k + len)) ++len;
    len = std::min(len, rep_limit);
    if (len >= allowed_length) max_len[back(k - 1)] = std::max(max_len[back(k - 1)], len);
  }
  int max_exp = 0;
  if (base > 1.000001f) max_exp = static_cast<int>(88.7228391f / std::log(base));
  for (RefCand& x : c) {
    auto it = max_len.find(x.id);
    if (it == max_len.end()) continue;
    bool single = false;
    for (const auto& s : breakers) single |= s.size() == 1 && s[0] == x.id;
    if (single) continue;
    int e = it->second - allowed_length;
    if (max_exp > 0 && e > max_exp) e = max_exp;
    x.logit -= multiplier * std::pow(base, static_cast<float>(e));
  }
}

void ref_top_n_sigma(std::vector<RefCand>& c, float n) {
  if (n <= 0 || c.size() <= 1) return;
  float mx = kNegInf;
  double sum = 0;
  int cnt = 0;
  for (const RefCand& x : c) {
    if (x.logit == kNegInf) continue;
    mx = std::max(mx, x.logit);
    sum += x.logit;
    ++cnt;
  }
  const double mean = cnt ? sum / cnt : 0;
  double acc = 0;
  for (const RefCand& x : c) {
    if (x.logit != kNegInf) acc += (x.logit - mean) * (x.logit - mean);
  }
  const float sd = cnt ? static_cast<float>(std::sqrt(acc / cnt)) : 0.0f;
  const float threshold = mx - n * sd;
  for (RefCand& x : c) {
    if (x.logit < threshold) x.logit = kNegInf;
  }
}

void ref_top_k(std::vector<RefCand>& c, int k) {
  if (k <= 0) return;
  k = std::min<int>(k, static_cast<int>(c.size()));
  ref_sort(c);
  c.resize(static_cast<size_t>(k));
}

void ref_typical(std::vector<RefCand>& c, float p, int min_keep) {
  if (p >= 1.0f) return;
  ref_sort(c);
  const std::vector<double> prob = softmax(c);
  double entropy = 0;
  for (double v : prob) {
    if (v > 0) entropy -= v * std::log(v);
  }
  std::vector<size_t> idx(c.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto score = [&](size_t i) {
    return prob[i] > 0 ? std::fabs(-std::log(prob[i]) - entropy) : std::numeric_limits<double>::infinity();
  };
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score(a) < score(b); });
  double cum = 0;
  size_t last = idx.size();
  for (size_t i = 0; i < idx.size(); ++i) {
    cum += prob[idx[i]];
    if (cum > p && (min_keep == 0 || static_cast<int>(i) >= min_keep - 1)) {
      last = i + 1;
      break;
    }
  }
  std::vector<RefCand> out;
  for (size_t i = 0; i < last; ++i) out.push_back(c[idx[i]]);
  c = out;
}

void ref_top_p(std::vector<RefCand>& c, float p, int min_keep) {
  if (p >= 1.0f) return;
  const float m = max_logit(c);
  ref_sort(c);
  std::vector<int64_t> mass(c.size());
  int64_t total = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    mass[i] = sampling::mass_of_logit(c[i].logit, m);
    total += mass[i];
  }
  // llama.cpp: cumulative sum in sorted order, stop after the first token
  // that takes it to p (once at least min_keep are in).
  int64_t cum = 0;
  size_t last = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    cum += mass[i];
    if (!sampling::top_p_keeps(cum, total, p) && static_cast<int>(i) + 1 >= min_keep) {
      last = i + 1;
      break;
    }
  }
  c.resize(last);
}

void ref_min_p(std::vector<RefCand>& c, float p, int min_keep) {
  if (p <= 0.0f || c.empty()) return;
  ref_sort(c);
  const float threshold = sampling::min_p_threshold(c[0].logit, p);
  size_t i = 1;  // the best token always stays
  for (; i < c.size(); ++i) {
    if (c[i].logit < threshold && static_cast<int>(i) >= min_keep) break;
  }
  c.resize(i);
}

void ref_xtc(std::vector<RefCand>& c, bool lands, float threshold, int min_keep) {
  if (!lands || threshold > 0.5f || c.size() < 2) return;
  ref_sort(c);
  const std::vector<double> prob = softmax(c);
  int pos_last = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (prob[i] >= threshold) pos_last = static_cast<int>(i);
    else break;
  }
  if (static_cast<int>(c.size()) - pos_last >= min_keep && pos_last > 0) {
    c.erase(c.begin(), c.begin() + pos_last);
  }
}

void ref_temperature(std::vector<RefCand>& c, float temp, float range, float exponent) {
  if (range > 0) {
    if (c.size() <= 1) return;
    const float min_t = std::max(0.0f, temp - range), max_t = temp + range;
    const std::vector<double> prob = softmax(c);
    double entropy = 0;
    for (double v : prob) {
      if (v > 0) entropy -= v * std::log(v);
    }
    const float norm = static_cast<float>(entropy) / -std::log(1.0f / static_cast<float>(c.size()));
    temp = min_t + (max_t - min_t) * std::pow(norm, exponent);
  }
  if (temp <= 0) {
    ref_sort(c);
    for (size_t i = 1; i < c.size(); ++i) c[i].logit = kNegInf;
    return;
  }
  for (RefCand& x : c) x.logit /= temp;
}

std::vector<double> ref_distribution(const std::vector<RefCand>& c, int n_vocab) {
  std::vector<double> out(static_cast<size_t>(n_vocab), 0.0);
  const std::vector<double> p = softmax(c);
  for (size_t i = 0; i < c.size(); ++i) out[static_cast<size_t>(c[i].id)] += p[i];
  return out;
}

std::vector<RefCand> ref_chain(const SamplingParams& p, const float* logits, int n_vocab,
                               const RefInputs& in) {
  std::vector<RefCand> c = ref_candidates(logits, n_vocab);
  ref_logit_bias(c, p.logit_bias);
  for (SamplerType t : p.samplers) {
    switch (t) {
      case SamplerType::Penalties:
        ref_penalties(c, in.history, p.penalty_last_n, p.penalty_repeat, p.penalty_freq, p.penalty_present);
        break;
      case SamplerType::Dry:
        ref_dry(c, in.history, p.dry_multiplier, p.dry_base, p.dry_allowed_length,
                p.dry_penalty_last_n, in.dry_breakers);
        break;
      case SamplerType::TopNSigma: ref_top_n_sigma(c, p.top_n_sigma); break;
      case SamplerType::TopK: ref_top_k(c, p.top_k); break;
      case SamplerType::TypicalP: ref_typical(c, p.typical_p, p.min_keep); break;
      case SamplerType::TopP: ref_top_p(c, p.top_p, p.min_keep); break;
      case SamplerType::MinP: ref_min_p(c, p.min_p, p.min_keep); break;
      case SamplerType::Xtc:
        if (p.xtc_probability > 0) ref_xtc(c, in.xtc_lands, p.xtc_threshold, p.min_keep);
        break;
      case SamplerType::Temperature:
        if (!(p.temp == 1.0f && p.dynatemp_range <= 0)) {
          ref_temperature(c, p.temp, p.dynatemp_range, p.dynatemp_exponent);
        }
        break;
    }
  }
  return c;
}

std::vector<double> ref_chain_distribution(const SamplingParams& p, const float* logits,
                                           int n_vocab, RefInputs in) {
  const bool xtc = p.xtc_probability > 0 && p.xtc_threshold <= 0.5f;
  in.xtc_lands = true;
  std::vector<double> d = ref_distribution(ref_chain(p, logits, n_vocab, in), n_vocab);
  if (!xtc || p.xtc_probability >= 1.0f) return d;
  in.xtc_lands = false;
  const std::vector<double> off = ref_distribution(ref_chain(p, logits, n_vocab, in), n_vocab);
  // The coin is a float in [0, 1) with 24 bits; it lands when <= probability.
  const double pr = std::min(1.0, (std::floor(static_cast<double>(p.xtc_probability) * 0x1p24) + 1) * 0x1p-24);
  for (size_t i = 0; i < d.size(); ++i) d[i] = pr * d[i] + (1 - pr) * off[i];
  return d;
}

namespace {

std::vector<RefCand> ref_after_temp(const float* logits, int n_vocab, float temp) {
  std::vector<RefCand> c = ref_candidates(logits, n_vocab);
  if (temp != 1.0f) ref_temperature(c, temp, 0, 1);
  ref_sort(c);
  return c;
}

}  // namespace

std::vector<double> ref_mirostat_v1(const float* logits, int n_vocab, float temp, float mu) {
  std::vector<RefCand> c = ref_after_temp(logits, n_vocab, temp);
  const std::vector<double> p = softmax(c);
  float sum_tb = 0, sum_tt = 0;
  for (size_t i = 0; i + 1 < c.size() && i < 99; ++i) {
    const float t = std::log(static_cast<float>(i + 2) / static_cast<float>(i + 1));
    const float b = std::log(static_cast<float>(p[i]) / static_cast<float>(p[i + 1]));
    sum_tb += t * b;
    sum_tt += t * t;
  }
  const float s_hat = sum_tb / sum_tt;
  const float eps = s_hat - 1;
  const float k = std::pow((eps * std::pow(2.0f, mu)) / (1 - std::pow(static_cast<float>(n_vocab), -eps)),
                           1 / s_hat);
  size_t kk = 1;
  if (k >= static_cast<float>(c.size())) kk = c.size();
  else if (k >= 1) kk = static_cast<size_t>(k);
  c.resize(kk);
  return ref_distribution(c, n_vocab);
}

std::vector<double> ref_mirostat_v2(const float* logits, int n_vocab, float temp, float mu) {
  std::vector<RefCand> c = ref_after_temp(logits, n_vocab, temp);
  const std::vector<double> p = softmax(c);
  size_t keep = 0;
  while (keep < c.size() && !(-std::log2(p[keep]) > mu)) ++keep;
  c.resize(std::max<size_t>(keep, 1));
  return ref_distribution(c, n_vocab);
}

}  // namespace kestrel::test
