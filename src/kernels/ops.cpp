// Implementations of ops.h (scalar, with AVX2 dispatch where noted there).
#include "kernels/ops.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/cpu_features.h"
#include "core/half.h"
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/exp_softmax_constants.h"

namespace kestrel {

void sum_squares_lanes_ref(const float* x, int64_t n, double lanes[8]) {
  for (int k = 0; k < 8; ++k) lanes[k] = 0.0;
  for (int64_t i = 0; i < n; ++i) lanes[i % 8] += static_cast<double>(x[i] * x[i]);  // ggml squares in float
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double l[8];
  if (use_avx2()) {
    sum_squares_lanes_avx2(x, n, l);
  } else {
    sum_squares_lanes_ref(x, n, l);
  }
  const double sum = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  if (use_avx2()) {
    silu_mul_avx2(gate, up, y, n);
  } else {
    silu_mul_ref(gate, up, y, n);
  }
}

void silu_mul_ref(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    y[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void f32_to_f16_row(const float* x, uint16_t* dst, int64_t n) {
  if (use_avx2()) {
    f32_to_f16_avx2(x, dst, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(x[i]);
}

void rope_cache(const RopeParams& p, int64_t pos, float* cos_out, float* sin_out) {
  // theta_i = pos * base^(-2i/n_rot), advanced by repeated multiplication in
  // float as ggml does, so the tables match llama.cpp's to the last bit.
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float t = p.freq_scale * (theta / ff);
    cos_out[i] = std::cos(t);
    sin_out[i] = std::sin(t);
    theta *= theta_scale;
  }
}

void rope_apply(const RopeParams& p, const float* cos_t, const float* sin_t, float* x,
                int n_heads, int head_dim) {
  const int half = p.n_rot / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const int a = p.style == RopeStyle::Adjacent ? 2 * i : i;
      const int b = p.style == RopeStyle::Adjacent ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos_t[i] - x1 * sin_t[i];
      v[b] = x0 * sin_t[i] + x1 * cos_t[i];
    }
  }
}

float exp_softmax(float x) {
  if (x != x) return x;
  if (x < kExpSoftmaxMin) return 0.0f;
  if (x > kExpSoftmaxMax) return std::numeric_limits<float>::infinity();
  const float n = std::nearbyint(x * kExpLog2e);
  float r = std::fma(n, -kExpLn2Hi, x);
  r = std::fma(n, -kExpLn2Lo, r);
  float p = kExpPoly[0];
  for (int i = 1; i < kExpPolyTerms; ++i) p = std::fma(p, r, kExpPoly[i]);
  const uint32_t scale_bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

void softmax_inplace(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  double lane[16] = {};
  for (int64_t i = 0; i < n; ++i) {
    x[i] = exp_softmax(x[i] - mx);
    lane[i % 16] += static_cast<double>(x[i]);
  }
  for (int w = 8; w >= 1; w /= 2) {
    for (int k = 0; k < w; ++k) lane[k] += lane[k + w];
  }
  const float inv = static_cast<float>(1.0 / lane[0]);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace kestrel
