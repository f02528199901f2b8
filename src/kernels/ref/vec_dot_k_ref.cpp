// Scalar dot products of the K-quants with Q8_K activations (see
// vec_dot_ref.h). Per super-block: integer dot products per sub-block times
// the integer sub-block scale, summed exactly in int; then one multiply by
// d_w * d_a. The mins of Q2_K/Q4_K/Q5_K never touch the element loop: since
// x = d*sc*q - dmin*m, the min term is dmin*d_a * sum(m * bsum) using the
// activation's precomputed 16-element sums.
#include <cstdint>

#include "core/half.h"
#include "kernels/ref/vec_dot_ref.h"
#include "quant/blocks.h"
#include "quant/quants_k.h"

namespace kestrel {
namespace {

// Sum over sub-blocks of size `group` of scale[s] * (levels . activations).
int scaled_dot(const int8_t* q, const int8_t* a, int group, const int* scales) {
  int total = 0;
  for (int s = 0; s < QK_K / group; ++s) {
    int sub = 0;
    for (int l = 0; l < group; ++l) sub += q[group * s + l] * a[group * s + l];
    total += scales[s] * sub;
  }
  return total;
}

// For Q4_K/Q5_K: unpacks the 8 scales and returns sum(min * bsum) (each
// 32-element sub-block covers two 16-element bsums).
int unpack_k4_scales(const uint8_t* packed, const int16_t* bsums, int scales[8]) {
  int mins_dot = 0;
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, m;
    unpack_scale_min_k4(s, packed, &sc, &m);
    scales[s] = sc;
    mins_dot += m * (bsums[2 * s] + bsums[2 * s + 1]);
  }
  return mins_dot;
}

}  // namespace

float vec_dot_q2_K_q8_K_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[QK_K];
  int scales[16];
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack_levels_q2_K(&x[i], q);
    int mins_dot = 0;
    for (int s = 0; s < 16; ++s) {
      scales[s] = x[i].scales[s] & 0x0F;
      mins_dot += y[i].bsums[s] * (x[i].scales[s] >> 4);
    }
    const int isum = scaled_dot(q, y[i].qs, 16, scales);
    sum += (fp16_to_fp32(x[i].d) * y[i].d) * static_cast<float>(isum);
    sum -= (fp16_to_fp32(x[i].dmin) * y[i].d) * static_cast<float>(mins_dot);
  }
  return sum;
}

float vec_dot_q3_K_q8_K_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[QK_K];
  int scales[16];
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack_levels_q3_K(&x[i], q);
    for (int s = 0; s < 16; ++s) scales[s] = unpack_scale_q3_K(s, x[i].scales);
    const int isum = scaled_dot(q, y[i].qs, 16, scales);
    sum += (fp16_to_fp32(x[i].d) * y[i].d) * static_cast<float>(isum);
  }
  return sum;
}

float vec_dot_q4_K_q8_K_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[QK_K];
  int scales[8];
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack_levels_q4_K(&x[i], q);
    const int mins_dot = unpack_k4_scales(x[i].scales, y[i].bsums, scales);
    const int isum = scaled_dot(q, y[i].qs, 32, scales);
    sum += (fp16_to_fp32(x[i].d) * y[i].d) * static_cast<float>(isum);
    sum -= (fp16_to_fp32(x[i].dmin) * y[i].d) * static_cast<float>(mins_dot);
  }
  return sum;
}

float vec_dot_q5_K_q8_K_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[QK_K];
  int scales[8];
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack_levels_q5_K(&x[i], q);
    const int mins_dot = unpack_k4_scales(x[i].scales, y[i].bsums, scales);
    const int isum = scaled_dot(q, y[i].qs, 32, scales);
    sum += (fp16_to_fp32(x[i].d) * y[i].d) * static_cast<float>(isum);
    sum -= (fp16_to_fp32(x[i].dmin) * y[i].d) * static_cast<float>(mins_dot);
  }
  return sum;
}

float vec_dot_q6_K_q8_K_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[QK_K];
  int scales[16];
  float sum = 0;
  for (int i = 0; i < n / QK_K; ++i) {
    unpack_levels_q6_K(&x[i], q);
    for (int s = 0; s < 16; ++s) scales[s] = x[i].scales[s];
    const int isum = scaled_dot(q, y[i].qs, 16, scales);
    sum += (fp16_to_fp32(x[i].d) * y[i].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace kestrel
