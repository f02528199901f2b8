// chi-square survival function (regularized upper incomplete gamma, by
// series or continued fraction) and the binning of stats.h.
#include "stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace kestrel::test {
namespace {

// Regularized lower incomplete gamma P(a, x) by its power series (x < a + 1).
double gamma_p_series(double a, double x) {
  double sum = 1.0 / a, term = sum;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Regularized upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1).
double gamma_q_fraction(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

// Token order for pooling: most probable first.
std::vector<size_t> by_probability(const std::vector<double>& p) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) idx.push_back(i);
  }
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  return idx;
}

struct Bin {
  double expected = 0;
  int64_t observed = 0;
};

std::vector<Bin> make_bins(const std::vector<int64_t>& counts, const std::vector<double>& p,
                           int64_t draws, double min_expected, int64_t* outside) {
  *outside = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) *outside += counts[i];
  }
  std::vector<Bin> bins;
  Bin cur;
  for (size_t i : by_probability(p)) {
    cur.expected += p[i] * static_cast<double>(draws);
    cur.observed += counts[i];
    if (cur.expected >= min_expected) {
      bins.push_back(cur);
      cur = Bin{};
    }
  }
  if (cur.expected > 0) {
    if (bins.empty()) bins.push_back(cur);
    else {
      bins.back().expected += cur.expected;
      bins.back().observed += cur.observed;
    }
  }
  return bins;
}

}  // namespace

double chi2_sf(double x, double df) {
  if (x <= 0) return 1.0;
  const double a = df / 2, y = x / 2;
  if (y < a + 1) return 1.0 - gamma_p_series(a, y);
  return gamma_q_fraction(a, y);
}

Chi2Result chi2_test(const std::vector<int64_t>& counts, const std::vector<double>& p, int64_t draws,
                     double min_expected) {
  Chi2Result r;
  const std::vector<Bin> bins = make_bins(counts, p, draws, min_expected, &r.outside);
  for (const Bin& b : bins) {
    const double d = static_cast<double>(b.observed) - b.expected;
    r.stat += d * d / b.expected;
  }
  r.df = std::max<int>(static_cast<int>(bins.size()) - 1, 1);
  r.p_value = bins.size() <= 1 ? 1.0 : chi2_sf(r.stat, r.df);
  return r;
}

BinCheck binomial_bins(const std::vector<int64_t>& counts, const std::vector<double>& p,
                       int64_t draws, double min_expected) {
  BinCheck r;
  const std::vector<Bin> bins = make_bins(counts, p, draws, min_expected, &r.outside);
  r.bins = static_cast<int>(bins.size());
  for (const Bin& b : bins) {
    const double q = b.expected / static_cast<double>(draws);
    const double sd = std::sqrt(static_cast<double>(draws) * q * (1 - q));
    if (sd > 0) r.worst_z = std::max(r.worst_z, std::fabs(static_cast<double>(b.observed) - b.expected) / sd);
  }
  return r;
}

void report(const std::string& name, const Chi2Result& r) {
  std::printf("[chi2] %-44s chi2=%10.2f df=%5d p=%.4g\n", name.c_str(), r.stat, r.df, r.p_value);
  std::fflush(stdout);
}

}  // namespace kestrel::test
