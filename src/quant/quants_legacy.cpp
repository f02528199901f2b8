// Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 / Q8_1 row (de)quantizers.
//
// Layout reminders (blocks.h): 32 elements per block; for the 4- and 5-bit
// types byte j of qs holds element j (low nibble) and j+16 (high nibble); the
// 5-bit types keep bit 4 of element j in bit j of the little-endian u32 qh.
// The reference quantizers match llama.cpp bit for bit, which pins down odd
// details kept below on purpose: the scale d is stored as fp16 but the
// inverse used for rounding is computed from the unrounded f32 d; Q4_0/Q5_0
// truncate x/d + 8.5 (resp. 16.5) instead of rounding; Q8_0/Q8_1 round half
// away from zero.
#include "quant/quants_legacy.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/scale_search.h"

namespace kestrel {
namespace {

// Truncates v toward zero into [lo, hi]; NaN gives lo. Equal to llama.cpp's
// MIN(hi, (int8_t)v) for every v the quantizers can produce, without its
// undefined float->int conversion on garbage input.
int truncate_clamped(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

// Rounds half away from zero (roundf) into [-127, 127]; NaN gives 0.
int8_t round_to_int8(float v) {
  const float r = std::round(v);
  if (!(r == r)) return 0;
  return static_cast<int8_t>(r > 127.f ? 127.f : (r < -127.f ? -127.f : r));
}

uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof v);
  return v;
}

// The 5-bit value of element j (0..31) of a Q5_0/Q5_1 block.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
  const int low = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
  return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

// Packs 32 levels of 0..31 into nibbles plus the qh high-bit word.
void pack_q5(const uint8_t* levels, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((levels[j] & 0x0F) | ((levels[j + 16] & 0x0F) << 4));
    qh |= static_cast<uint32_t>((levels[j] >> 4) & 1u) << j;
    qh |= static_cast<uint32_t>((levels[j + 16] >> 4) & 1u) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, sizeof qh);
}

void pack_q4(const uint8_t* levels, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((levels[j] & 0x0F) | ((levels[j + 16] & 0x0F) << 4));
  }
}

// The signed value of largest magnitude (first one on ties), 0 for all zeros.
float signed_abs_max(const float* x, int n) {
  float amax = 0.f, max = 0.f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Symmetric reference (Q4_0: nmax 8, Q5_0: nmax 16): d = max / -nmax so the
// largest-magnitude value lands on level 0, then truncate x/d + nmax + 0.5.
void quantize_block_symmetric_ref(const float* x, int nmax, uint16_t* d_out, uint8_t* levels) {
  const float max = signed_abs_max(x, 32);
  const float d = max / static_cast<float>(-nmax);
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = fp32_to_fp16(d);
  const float bias = static_cast<float>(nmax) + 0.5f;
  for (int j = 0; j < 32; ++j) {
    levels[j] = static_cast<uint8_t>(truncate_clamped(x[j] * id + bias, 0, 2 * nmax - 1));
  }
}

// Min/max reference (Q4_1: 15 steps, Q5_1: 31 steps): d spans [min, max].
void quantize_block_minmax_ref(const float* x, int steps, uint16_t* d_out, uint16_t* m_out,
                               uint8_t* levels) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / static_cast<float>(steps);
  const float id = d ? 1.0f / d : 0.0f;
  *d_out = fp32_to_fp16(d);
  *m_out = fp32_to_fp16(min);
  for (int j = 0; j < 32; ++j) {
    levels[j] = static_cast<uint8_t>(truncate_clamped((x[j] - min) * id + 0.5f, 0, steps));
  }
}

// Per-element search weights from importance: imp * sqrt(sigma2 + x^2), where
// sigma2 is the row's mean square (large values matter, but never weight 0
// for a value that is merely small).
float row_mean_square(const float* x, int64_t n) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / static_cast<float>(n);
}

void importance_weights(const float* x, const float* imp, float sigma2, float* w) {
  for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// Weighted symmetric block: levels in [0, 2*nmax).
uint16_t quantize_block_symmetric_weighted(const float* x, const float* imp, float sigma2,
                                           int nmax, uint8_t* levels) {
  float w[32];
  int8_t L[32];
  importance_weights(x, imp, sigma2, w);
  const float d = search_scale_symmetric(32, nmax, x, L, 1, w);
  for (int j = 0; j < 32; ++j) levels[j] = static_cast<uint8_t>(L[j]);
  return fp32_to_fp16(d);
}

// Weighted min/max block: levels in [0, steps].
void quantize_block_minmax_weighted(const float* x, const float* imp, float sigma2, int steps,
                                    uint16_t* d_out, uint16_t* m_out, uint8_t* levels) {
  float w[32];
  uint8_t aux[32];
  importance_weights(x, imp, sigma2, w);
  float min = 0;
  const float d = search_scale_min(32, steps, x, w, levels, &min, aux, -0.9f, 0.05f, 36, false);
  *d_out = fp32_to_fp16(d);
  *m_out = fp32_to_fp16(-min);
}

}  // namespace

void unpack_levels_q4_0(const void* block, int8_t levels[32]) {
  const auto& b = *static_cast<const BlockQ4_0*>(block);
  for (int j = 0; j < 16; ++j) {
    levels[j] = static_cast<int8_t>((b.qs[j] & 0x0F) - 8);
    levels[j + 16] = static_cast<int8_t>((b.qs[j] >> 4) - 8);
  }
}

void pack_values_q5(const uint8_t values[32], uint8_t qs[16], uint8_t qh[4]) { pack_q5(values, qs, qh); }

void unpack_levels_q4_1(const void* block, int8_t levels[32]) {
  const auto& b = *static_cast<const BlockQ4_1*>(block);
  for (int j = 0; j < 16; ++j) {
    levels[j] = static_cast<int8_t>(b.qs[j] & 0x0F);
    levels[j + 16] = static_cast<int8_t>(b.qs[j] >> 4);
  }
}

void unpack_levels_q5_0(const void* block, int8_t levels[32]) {
  const auto& b = *static_cast<const BlockQ5_0*>(block);
  const uint32_t qh = load_qh(b.qh);
  for (int j = 0; j < 32; ++j) levels[j] = static_cast<int8_t>(q5_value(b.qs, qh, j) - 16);
}

void unpack_levels_q5_1(const void* block, int8_t levels[32]) {
  const auto& b = *static_cast<const BlockQ5_1*>(block);
  const uint32_t qh = load_qh(b.qh);
  for (int j = 0; j < 32; ++j) levels[j] = static_cast<int8_t>(q5_value(b.qs, qh, j));
}

// One dequantizer for the four nibble formats: x = d * level (+ m when the
// block has a min). The per-format part is how the levels are unpacked.
template <typename Block, void (*Unpack)(const void*, int8_t*)>
void dequantize_legacy(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  int8_t q[32];
  for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
    const float d = fp16_to_fp32(b[i].d);
    Unpack(&b[i], q);
    if constexpr (requires { b[i].m; }) {
      const float m = fp16_to_fp32(b[i].m);
      for (int j = 0; j < 32; ++j) dst[j] = q[j] * d + m;
    } else {
      for (int j = 0; j < 32; ++j) dst[j] = q[j] * d;
    }
  }
}

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  dequantize_legacy<BlockQ4_0, unpack_levels_q4_0>(src, dst, n);
}
void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  dequantize_legacy<BlockQ4_1, unpack_levels_q4_1>(src, dst, n);
}
void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  dequantize_legacy<BlockQ5_0, unpack_levels_q5_0>(src, dst, n);
}
void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  dequantize_legacy<BlockQ5_1, unpack_levels_q5_1>(src, dst, n);
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / QK8_0; ++i, dst += QK8_0) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; ++j) dst[j] = b[i].qs[j] * d;
  }
}

void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / QK8_1; ++i, dst += QK8_1) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 32; ++j) dst[j] = b[i].qs[j] * d;
  }
}

void quantize_row_q4_0(const float* src, void* dst, int64_t n, const float* weights) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  const float sigma2 = weights ? row_mean_square(src, n) : 0.f;
  uint8_t levels[32];
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    const float* x = src + i * QK4_0;
    if (weights) {
      b[i].d = quantize_block_symmetric_weighted(x, weights + i * QK4_0, sigma2, 8, levels);
    } else {
      quantize_block_symmetric_ref(x, 8, &b[i].d, levels);
    }
    pack_q4(levels, b[i].qs);
  }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n, const float* weights) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  const float sigma2 = weights ? row_mean_square(src, n) : 0.f;
  uint8_t levels[32];
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    const float* x = src + i * QK5_0;
    if (weights) {
      b[i].d = quantize_block_symmetric_weighted(x, weights + i * QK5_0, sigma2, 16, levels);
    } else {
      quantize_block_symmetric_ref(x, 16, &b[i].d, levels);
    }
    pack_q5(levels, b[i].qs, b[i].qh);
  }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n, const float* weights) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  const float sigma2 = weights ? row_mean_square(src, n) : 0.f;
  uint8_t levels[32];
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    const float* x = src + i * QK4_1;
    if (weights) {
      quantize_block_minmax_weighted(x, weights + i * QK4_1, sigma2, 15, &b[i].d, &b[i].m, levels);
    } else {
      quantize_block_minmax_ref(x, 15, &b[i].d, &b[i].m, levels);
    }
    pack_q4(levels, b[i].qs);
  }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n, const float* weights) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  const float sigma2 = weights ? row_mean_square(src, n) : 0.f;
  uint8_t levels[32];
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    const float* x = src + i * QK5_1;
    if (weights) {
      quantize_block_minmax_weighted(x, weights + i * QK5_1, sigma2, 31, &b[i].d, &b[i].m, levels);
    } else {
      quantize_block_minmax_ref(x, 31, &b[i].d, &b[i].m, levels);
    }
    pack_q5(levels, b[i].qs, b[i].qh);
  }
}

void quantize_row_q4_0_ref(const float* src, void* dst, int64_t n) {
  quantize_row_q4_0(src, dst, n, nullptr);
}
void quantize_row_q4_1_ref(const float* src, void* dst, int64_t n) {
  quantize_row_q4_1(src, dst, n, nullptr);
}
void quantize_row_q5_0_ref(const float* src, void* dst, int64_t n) {
  quantize_row_q5_0(src, dst, n, nullptr);
}
void quantize_row_q5_1_ref(const float* src, void* dst, int64_t n) {
  quantize_row_q5_1(src, dst, n, nullptr);
}

void quantize_row_q8_0_ref(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float* x = src + i * QK8_0;
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 32; ++j) b[i].qs[j] = round_to_int8(x[j] * id);
  }
}

void quantize_row_q8_1_ref(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float* x = src + i * QK8_1;
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      b[i].qs[j] = round_to_int8(x[j] * id);
      sum += b[i].qs[j];
    }
    // s uses the f32 d (not its fp16 rounding), as llama.cpp does.
    b[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}

}  // namespace kestrel
