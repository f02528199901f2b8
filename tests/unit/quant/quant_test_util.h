// Shared helpers for the quant unit tests: deterministic Gaussian data, a
// row quantize/dequantize round trip through the type table, and error norms.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "quant/type_traits.h"

namespace kestrel::test {

inline std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<uint8_t> quantize(const TypeTraits& tt, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(tt, static_cast<int64_t>(x.size())));
  tt.from_float(x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

inline std::vector<float> dequantize(const TypeTraits& tt, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> y(n);
  tt.to_float(q.data(), y.data(), static_cast<int64_t>(n));
  return y;
}

// sqrt(sum (a-b)^2 / sum a^2)
inline double relative_rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(err / ref);
}

}  // namespace kestrel::test
