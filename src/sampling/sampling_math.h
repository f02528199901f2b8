// The arithmetic that defines which tokens survive a filter, shared bit for
// bit by the scalar kernels, the AVX2 kernels and the sort-based test oracle.
//
// Exactness of the sorting-free filters rests on three rules:
//  * Order. Candidates are ranked by logit, highest first; equal logits rank
//    by token id, lowest first. Every "keep the best" filter keeps a prefix of
//    this order, so a tie at a top-k boundary keeps the lower ids.
//  * Probability mass for top-p is an integer: m_i = round(exp(l_i - max) *
//    2^30), with the exp below (identical in scalar and AVX2 code because both
//    evaluate the same sequence of correctly rounded IEEE operations). Sums of
//    integers do not depend on summation order, so a vectorized pass over the
//    vocabulary and a cumulative sum over a sorted array give the same number.
//    (llama.cpp sums floats; the two definitions differ by ~1e-7 of the total,
//    the size of llama.cpp's own rounding noise.)
//  * top-p keeps token r (in the order above) when S_r == 0 (it is the top
//    token) or S_r < p * Z, where S_r is the mass of the tokens ranked before
//    it and Z the mass of all candidates; llama.cpp stops after the first
//    token whose cumulative sum reaches p, which is the same set.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace kestrel::sampling {

// exp(x) for x <= 0 (larger x is clamped to 88). Inputs below -87 give 0: a
// token that far below the best one has probability < 1.7e-38 and is treated
// as impossible by every path alike.
constexpr float kExpMin = -87.0f;
constexpr float kExpMax = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;       // ln 2 split so n * kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;
// Minimax polynomial for (exp(r) - 1 - r) / r^2 on |r| <= ln2/2 (Cephes expf).
constexpr float kExpC0 = 1.9875691500e-4f;
constexpr float kExpC1 = 1.3981999507e-3f;
constexpr float kExpC2 = 8.3334519073e-3f;
constexpr float kExpC3 = 4.1665795894e-2f;
constexpr float kExpC4 = 1.6666665459e-1f;
constexpr float kExpC5 = 5.0000001201e-1f;

// Every step is a single IEEE operation (std::fma rounds once), so the AVX2
// version in avx2/kernels_avx2.cpp reproduces the result exactly.
inline float exp_for_sampling(float x) {
  if (!(x >= kExpMin)) return 0.0f;
  x = std::min(x, kExpMax);
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float y = kExpC0;
  y = std::fma(y, r, kExpC1);
  y = std::fma(y, r, kExpC2);
  y = std::fma(y, r, kExpC3);
  y = std::fma(y, r, kExpC4);
  y = std::fma(y, r, kExpC5);
  const float r2 = r * r;
  y = std::fma(y, r2, r);
  y = y + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

// Fixed-point probability mass (see the header comment). e is in [0, 1].
constexpr float kMassScale = 1073741824.0f;  // 2^30
inline int32_t mass_from_weight(float e) {
  return static_cast<int32_t>(std::nearbyint(e * kMassScale));
}
inline int32_t mass_of_logit(float logit, float max_logit) {
  return mass_from_weight(exp_for_sampling(logit - max_logit));
}

// top-p rule: may the token whose predecessors hold `mass_before` stay, when
// the candidates hold `total` and the user asked for p?
inline bool top_p_keeps(int64_t mass_before, int64_t total, float p) {
  return mass_before == 0 ||
         static_cast<double>(mass_before) < static_cast<double>(p) * static_cast<double>(total);
}

// min-p keeps logits >= this (llama.cpp: max_logit + logf(p)).
inline float min_p_threshold(float max_logit, float p) { return max_logit + std::log(p); }

// Sampling weight of a logit after temperature, computed as llama.cpp does:
// the logits are divided by temp, then exp(l' - max').
inline float weight_at_temp(float logit, float max_logit, float temp) {
  if (temp == 1.0f) return exp_for_sampling(logit - max_logit);
  return exp_for_sampling(logit / temp - max_logit / temp);
}

// The order of the header comment: does (xa, ida) rank strictly before (xb, idb)?
inline bool ranks_before(float xa, int64_t ida, float xb, int64_t idb) {
  return xa > xb || (xa == xb && ida < idb);
}

}  // namespace kestrel::sampling
