// Statistics for the sampling tests: chi-square goodness of fit against an
// exact expected distribution, and per-bin binomial checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::test {

// P(X >= x) for X ~ chi-square with df degrees of freedom.
double chi2_sf(double x, double df);

struct Chi2Result {
  double stat = 0;
  int df = 0;
  double p_value = 1;
  int64_t outside = 0;  // draws of tokens the expected distribution gives 0
};

// Tokens with expected count < min_expected are pooled into bins (in
// decreasing probability order) until each bin reaches it.
Chi2Result chi2_test(const std::vector<int64_t>& counts, const std::vector<double>& expected_prob,
                     int64_t draws, double min_expected = 5.0);

struct BinCheck {
  int bins = 0;
  double worst_z = 0;  // largest |observed - expected| / binomial sd over bins
  int64_t outside = 0;
};

// Bins as chi2_test (each with expected count >= min_expected) and the
// largest standardized deviation.
BinCheck binomial_bins(const std::vector<int64_t>& counts, const std::vector<double>& expected_prob,
                       int64_t draws, double min_expected = 100.0);

// Prints "name: ..." to stdout so the run's log carries the p-values.
void report(const std::string& name, const Chi2Result& r);

}  // namespace kestrel::test
