// Scalar dot products of the 32-element formats with Q8_0 / Q8_1 activations
// (see vec_dot_ref.h). Per block: an exact integer dot product of the levels,
// then the canonical float accumulation every fast kernel reproduces bit for
// bit (vec_dot_ref.h): sum += (dw*da)*sumi, then sum += m*s for Q4_1/Q5_1.
#include <cstdint>

#include "core/half.h"
#include "kernels/ref/vec_dot_ref.h"
#include "quant/blocks.h"
#include "quant/quants_legacy.h"

namespace kestrel {
namespace {

int dot_levels_32(const int8_t* w, const int8_t* a) {
  int sum = 0;
  for (int j = 0; j < 32; ++j) sum += w[j] * a[j];
  return sum;
}

}  // namespace

float vec_dot_q4_0_q8_0_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  int8_t q[32];
  float sum = 0;
  for (int i = 0; i < n / QK4_0; ++i) {
    unpack_levels_q4_0(&x[i], q);
    const int sumi = dot_levels_32(q, y[i].qs);
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
  }
  return sum;
}

float vec_dot_q4_1_q8_1_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  int8_t q[32];
  float sum = 0;
  for (int i = 0; i < n / QK4_1; ++i) {
    unpack_levels_q4_1(&x[i], q);
    const int sumi = dot_levels_32(q, y[i].qs);
    // sum_j (d*q_j + m) * a_j = d*da*sumi + m * (da * sum_j qa_j) = ... + m*s.
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
    sum += fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  return sum;
}

float vec_dot_q5_0_q8_0_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  int8_t q[32];
  float sum = 0;
  for (int i = 0; i < n / QK5_0; ++i) {
    unpack_levels_q5_0(&x[i], q);
    const int sumi = dot_levels_32(q, y[i].qs);
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
  }
  return sum;
}

float vec_dot_q5_1_q8_1_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  int8_t q[32];
  float sum = 0;
  for (int i = 0; i < n / QK5_1; ++i) {
    unpack_levels_q5_1(&x[i], q);
    const int sumi = dot_levels_32(q, y[i].qs);
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
    sum += fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
  }
  return sum;
}

float vec_dot_q8_0_q8_0_ref(int n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int i = 0; i < n / QK8_0; ++i) {
    const int sumi = dot_levels_32(x[i].qs, y[i].qs);
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace kestrel
