// Quantizers for Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (see quants_k.h).
//
// Every type works the same way on a 256-element super-block:
//  1. fit each sub-block on its own (scale, and for the asymmetric types a
//     min) with a search from scale_search.h;
//  2. quantize those per-sub-block scales/mins to 4, 6 or 8 bits against one
//     fp16 super-block scale (by the maximum in the reference path, by a
//     weighted search when importance weights are given);
//  3. re-quantize every element against the scales actually stored, so the
//     levels are the best ones for what the decoder will see;
//  4. pack the levels into the format's bit layout.
// Without weights the steps and constants are those of llama.cpp's
// quantize_row_*_ref (what llama-quantize runs without an imatrix); with
// weights they follow its quantize_row_*_impl: element weights are
// importance * sqrt(sigma2 + x^2) and the scale quantization is itself a
// weighted search.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/quants_k.h"
#include "quant/scale_search.h"

namespace kestrel {
namespace {

// Levels for non-negative values v (scales or mins) against their maximum:
// levels[j] = round(v[j] * nmax / max) (capped at nmax); returns max / nmax,
// or 0 (with all levels 0) when the maximum is not positive.
float quantize_by_max(const float* v, int count, int nmax, uint8_t* levels) {
  float max = 0;
  for (int j = 0; j < count; ++j) max = std::max(max, v[j]);
  const float inv = max > 0 ? nmax / max : 0.f;
  for (int j = 0; j < count; ++j) {
    levels[j] = static_cast<uint8_t>(std::clamp(nearest_int(inv * v[j]), 0, nmax));
  }
  return max / nmax;
}

// Step 3 for the asymmetric types: x ~ d * l - dm with l in [0, nmax]. A
// sub-block whose stored scale is zero keeps the levels of its fit.
void requantize_asymmetric(const float* x, int count, float d, float dm, int nmax, uint8_t* L) {
  if (!d) return;
  for (int i = 0; i < count; ++i) L[i] = static_cast<uint8_t>(std::clamp(nearest_int((x[i] + dm) / d), 0, nmax));
}

// Step 3 for the symmetric types: x ~ d * l with l in [-nmax, nmax), stored
// as l + nmax.
void requantize_symmetric(const float* x, int count, float d, int nmax, int8_t* L) {
  if (!d) return;
  for (int i = 0; i < count; ++i) L[i] = static_cast<int8_t>(std::clamp(nearest_int(x[i] / d), -nmax, nmax - 1) + nmax);
}

float block_sum_squares(const float* x) {
  float sum_x2 = 0;
  for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
  return sum_x2;
}

// weights[l] = imp[l] * sqrt(sigma2 + x[l]^2); returns their sum.
float importance_weights(const float* x, const float* imp, float sigma2, int count, float* weights) {
  float sum = 0;
  for (int l = 0; l < count; ++l) weights[l] = imp[l] * std::sqrt(sigma2 + x[l] * x[l]);
  for (int l = 0; l < count; ++l) sum += weights[l];
  return sum;
}

// Q2_K / Q3_K: 2 low bits of element e at qs[32*(e/128) + e%32], bit 2*((e%128)/32).
template <typename Level>
void pack_2bit(const Level* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>((L[j + l] & 3) | ((L[j + l + 32] & 3) << 2) |
                                           ((L[j + l + 64] & 3) << 4) | ((L[j + l + 96] & 3) << 6));
    }
  }
}

// Q4_K / Q5_K: 4 low bits of element e at qs[32*(e/64) + e%32] (high nibble
// for the second 32 of each 64); Q5_K's fifth bit goes to qh[e%32] bit e/32.
void pack_4bit_k(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
  if (qh) std::memset(qh, 0, QK_K / 8);
  for (int e = 0; e < QK_K; ++e) {
    uint8_t& byte = qs[32 * (e / 64) + e % 32];
    const uint8_t low = L[e] & 0x0F;
    if (e % 64 < 32) {
      byte = low;
    } else {
      byte = static_cast<uint8_t>(byte | (low << 4));
    }
    if (qh && (L[e] & 0x10)) qh[e % 32] = static_cast<uint8_t>(qh[e % 32] | (1u << (e / 32)));
  }
}

// Sub-block fit for Q4_K/Q5_K (32 elements, levels 0..nmax): returns the
// scale, writes the min (>= 0) and the sum of the weights used.
struct AsymFit {
  float scale, min, weight_sum;
};

AsymFit fit_sub_block_k4(const float* x, const float* imp, float sigma2, int nmax, uint8_t* L) {
  float weights[32];
  uint8_t aux[32];
  AsymFit fit{};
  if (imp) {
    fit.weight_sum = importance_weights(x, imp, sigma2, 32, weights);
    fit.scale = search_scale_min(32, nmax, x, weights, L, &fit.min, aux, -0.9f, 0.05f, 36, false);
  } else {
    // Reference weights: the sub-block's rms plus |x|, so large values
    // count more without letting small ones go free.
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[l] * x[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[l]);
    // Q4_K searches 21 candidate scales from nmax-1, Q5_K 16 from nmax-0.5.
    const bool q4 = nmax == 15;
    fit.scale = search_scale_min(32, nmax, x, weights, L, &fit.min, aux, q4 ? -1.f : -0.5f, 0.1f,
                                 q4 ? 20 : 15, false);
  }
  return fit;
}

// Steps 1-3 shared by Q4_K (nmax 15) and Q5_K (nmax 31). Writes d, dmin and
// the packed scales; leaves the final levels in L.
void quantize_super_block_k4(const float* x, const float* imp, int nmax, uint16_t* d_out,
                             uint16_t* dmin_out, uint8_t packed_scales[12], uint8_t L[QK_K]) {
  float scales[8], mins[8], sw[8];
  const float sigma2 = imp ? 2 * block_sum_squares(x) / QK_K : 0.f;
  for (int j = 0; j < 8; ++j) {
    const AsymFit fit = fit_sub_block_k4(x + 32 * j, imp ? imp + 32 * j : nullptr, sigma2, nmax, L + 32 * j);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    sw[j] = fit.weight_sum;
  }
  uint8_t ls[8], lm[8];
  float d, dmin;
  if (imp) {
    d = search_scale_positive(8, 63, scales, ls, sw);
    dmin = search_scale_positive(8, 63, mins, lm, sw);
  } else {
    d = quantize_by_max(scales, 8, 63, ls);
    dmin = quantize_by_max(mins, 8, 63, lm);
  }
  pack_scales_mins_k4(ls, lm, packed_scales);
  *d_out = fp32_to_fp16(d);
  *dmin_out = fp32_to_fp16(dmin);
  const float d_stored = fp16_to_fp32(*d_out), dmin_stored = fp16_to_fp32(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, packed_scales, &sc, &m);
    requantize_asymmetric(x + 32 * j, 32, d_stored * sc, dmin_stored * m, nmax, L + 32 * j);
  }
}

}  // namespace

void quantize_row_q2_K(const float* src, void* dst, int64_t n, const float* imp) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    const float* qw = imp ? imp + i * QK_K : nullptr;
    uint8_t L[QK_K], aux[16], ls[16], lm[16];
    float weights[16], scales[16], mins[16], sw[16];
    const float sigma2 = qw ? block_sum_squares(x) / QK_K : 0.f;
    for (int j = 0; j < 16; ++j) {
      const float* xs = x + 16 * j;
      if (qw) {
        sw[j] = importance_weights(xs, qw + 16 * j, sigma2, 16, weights);
        scales[j] = search_scale_min(16, 3, xs, weights, L + 16 * j, &mins[j], aux, -0.9f, 0.05f, 36, false);
      } else {
        // With only 4 levels, absolute-error weighting by |x| fits best.
        for (int l = 0; l < 16; ++l) weights[l] = std::fabs(xs[l]);
        scales[j] = search_scale_min(16, 3, xs, weights, L + 16 * j, &mins[j], aux, -0.5f, 0.1f, 15, true);
      }
    }
    float d, dmin;
    if (qw) {
      d = search_scale_positive(16, 15, scales, ls, sw);
      dmin = search_scale_positive(16, 15, mins, lm, sw);
    } else {
      d = quantize_by_max(scales, 16, 15, ls);
      dmin = quantize_by_max(mins, 16, 15, lm);
    }
    for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    y[i].d = fp32_to_fp16(d);
    y[i].dmin = fp32_to_fp16(dmin);
    const float d_stored = fp16_to_fp32(y[i].d), dmin_stored = fp16_to_fp32(y[i].dmin);
    for (int j = 0; j < 16; ++j) {
      requantize_asymmetric(x + 16 * j, 16, d_stored * (y[i].scales[j] & 0x0F),
                            dmin_stored * (y[i].scales[j] >> 4), 3, L + 16 * j);
    }
    pack_2bit(L, y[i].qs);
  }
}

void quantize_row_q3_K(const float* src, void* dst, int64_t n, const float* imp) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    const float* qw = imp ? imp + i * QK_K : nullptr;
    int8_t L[QK_K];
    float scales[16];
    uint8_t biased[16];
    if (qw) {
      const float sigma2 = 2 * block_sum_squares(x) / QK_K;
      float weights[16], sw[16];
      for (int j = 0; j < 16; ++j) {
        sw[j] = importance_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weights);
        scales[j] = search_scale_symmetric(16, 4, x + 16 * j, L + 16 * j, 1, weights);
      }
      int8_t Ls[16];
      const float d = search_scale_symmetric(16, 32, scales, Ls, 1, sw);
      for (int j = 0; j < 16; ++j) biased[j] = static_cast<uint8_t>(Ls[j]);
      y[i].d = fp32_to_fp16(d);
    } else {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; ++j) {
        scales[j] = search_scale_symmetric_q3(16, 4, x + 16 * j, L + 16 * j, true);
        if (std::fabs(scales[j]) > amax) {
          amax = std::fabs(scales[j]);
          max_scale = scales[j];
        }
      }
      if (max_scale) {
        // The sign of the largest scale maps to -32, the extra level.
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < 16; ++j) {
          biased[j] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * scales[j]), -32, 31) + 32);
        }
        y[i].d = fp32_to_fp16(1 / iscale);
      } else {
        std::fill(biased, biased + 16, uint8_t{0});
        y[i].d = fp32_to_fp16(0.f);
      }
    }
    pack_scales_q3_K(biased, y[i].scales);
    const float d_stored = fp16_to_fp32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      requantize_symmetric(x + 16 * j, 16, d_stored * unpack_scale_q3_K(j, y[i].scales), 4, L + 16 * j);
    }
    // Levels are 0..7 here; bit 2 goes to hmask[e%32] bit e/32.
    std::memset(y[i].hmask, 0, sizeof y[i].hmask);
    for (int e = 0; e < QK_K; ++e) {
      if (L[e] > 3) y[i].hmask[e % 32] = static_cast<uint8_t>(y[i].hmask[e % 32] | (1u << (e / 32)));
    }
    pack_2bit(L, y[i].qs);
  }
}

void quantize_row_q4_K(const float* src, void* dst, int64_t n, const float* imp) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    quantize_super_block_k4(src + i * QK_K, imp ? imp + i * QK_K : nullptr, 15, &y[i].d, &y[i].dmin,
                            y[i].scales, L);
    pack_4bit_k(L, y[i].qs, nullptr);
  }
}

void quantize_row_q5_K(const float* src, void* dst, int64_t n, const float* imp) {
  auto* y = static_cast<BlockQ5_K*>(dst);
  uint8_t L[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    quantize_super_block_k4(src + i * QK_K, imp ? imp + i * QK_K : nullptr, 31, &y[i].d, &y[i].dmin,
                            y[i].scales, L);
    pack_4bit_k(L, y[i].qs, y[i].qh);
  }
}

void quantize_row_q6_K(const float* src, void* dst, int64_t n, const float* imp) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    int8_t L[QK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < 16; ++j) {
      // llama.cpp uses the importance values directly here (no sigma term).
      const float* qw = imp ? imp + i * QK_K + 16 * j : nullptr;
      scales[j] = search_scale_symmetric(16, 32, x + 16 * j, L + 16 * j, 1, qw);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < 16; ++j) {
      y[i].scales[j] = static_cast<int8_t>(std::clamp(nearest_int(iscale * scales[j]), -128, 127));
    }
    const float d_stored = fp16_to_fp32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      requantize_symmetric(x + 16 * j, 16, d_stored * y[i].scales[j], 32, L + 16 * j);
    }
    for (int e = 0; e < QK_K; ++e) L[e] = static_cast<int8_t>(L[e] - 32);  // levels 0..63 -> -32..31
    pack_levels_q6_K(L, &y[i]);
  }
}

void quantize_row_q2_K_ref(const float* src, void* dst, int64_t n) { quantize_row_q2_K(src, dst, n, nullptr); }
void quantize_row_q3_K_ref(const float* src, void* dst, int64_t n) { quantize_row_q3_K(src, dst, n, nullptr); }
void quantize_row_q4_K_ref(const float* src, void* dst, int64_t n) { quantize_row_q4_K(src, dst, n, nullptr); }
void quantize_row_q5_K_ref(const float* src, void* dst, int64_t n) { quantize_row_q5_K(src, dst, n, nullptr); }
void quantize_row_q6_K_ref(const float* src, void* dst, int64_t n) { quantize_row_q6_K(src, dst, n, nullptr); }

}  // namespace kestrel
