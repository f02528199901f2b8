// K-quant scale packing, level unpacking, dequantizers and the Q8_K
// activation quantizer (see quants_k.h). The quantizers for Q2_K..Q6_K live
// in quantize_k.cpp.
//
// Bit layouts, for element e (0..255) of a super-block:
//  - Q2_K / Q3_K: 2-bit level in qs[32*(e/128) + e%32] at bit 2*((e%128)/32);
//    Q3_K's third bit is hmask[e%32] bit e/32 (set means "no -4 offset").
//  - Q4_K / Q5_K: 4-bit level in qs[32*(e/64) + e%32], low nibble when
//    e%64 < 32; Q5_K's fifth bit is qh[e%32] bit e/32.
//  - Q6_K: low 4 bits in ql[64*(e/128) + 32*(g&1) + e%32] (high nibble when
//    g >= 2, g = (e%128)/32), top 2 bits in qh[32*(e/128) + e%32] at bit 2g.
#include "quant/quants_k.h"

#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/scale_search.h"

namespace kestrel {

void pack_scales_mins_k4(const uint8_t scales[8], const uint8_t mins[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0x0F) | ((mins[j + 4] & 0x0F) << 4));
  }
}

void pack_scales_q3_K(const uint8_t biased[16], uint8_t packed[12]) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const uint8_t v = biased[j] & 63;
    if (j < 8) {
      packed[j] = v & 0x0F;
    } else {
      packed[j - 8] |= static_cast<uint8_t>((v & 0x0F) << 4);
    }
    packed[8 + j % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (j / 4)));
  }
}

void unpack_levels_q2_K(const void* block, int8_t levels[256]) {
  // Runs of 32 elements j = e / 32 share their shift and byte range, so the
  // inner loops vectorize (packing a model unpacks every block).
  const auto& b = *static_cast<const BlockQ2_K*>(block);
  for (int j = 0; j < 8; ++j) {
    const uint8_t* qs = b.qs + 32 * (j / 4);
    const int shift = 2 * (j % 4);
    for (int l = 0; l < 32; ++l) levels[32 * j + l] = static_cast<int8_t>((qs[l] >> shift) & 3);
  }
}

void pack_levels_q2_K(const int8_t levels[256], void* block) {
  auto& b = *static_cast<BlockQ2_K*>(block);
  std::memset(b.qs, 0, sizeof b.qs);
  for (int e = 0; e < QK_K; ++e) {
    uint8_t& byte = b.qs[32 * (e / 128) + e % 32];
    byte = static_cast<uint8_t>(byte | (levels[e] & 3) << (2 * ((e % 128) / 32)));
  }
}

void unpack_levels_q3_K(const void* block, int8_t levels[256]) {
  const auto& b = *static_cast<const BlockQ3_K*>(block);
  for (int j = 0; j < 8; ++j) {
    const uint8_t* qs = b.qs + 32 * (j / 4);
    const int shift = 2 * (j % 4);
    for (int l = 0; l < 32; ++l) {
      const int low = (qs[l] >> shift) & 3;
      const int high = (b.hmask[l] >> j) & 1;
      levels[32 * j + l] = static_cast<int8_t>(low - 4 + 4 * high);
    }
  }
}

void pack_levels_q3_K(const int8_t levels[256], void* block) {
  auto& b = *static_cast<BlockQ3_K*>(block);
  std::memset(b.qs, 0, sizeof b.qs);
  std::memset(b.hmask, 0, sizeof b.hmask);
  for (int e = 0; e < QK_K; ++e) {
    const int q = levels[e] + 4;  // 0..7: bit 2 set means "no -4 offset"
    uint8_t& byte = b.qs[32 * (e / 128) + e % 32];
    byte = static_cast<uint8_t>(byte | (q & 3) << (2 * ((e % 128) / 32)));
    b.hmask[e % 32] = static_cast<uint8_t>(b.hmask[e % 32] | ((q >> 2) & 1) << (e / 32));
  }
}

void unpack_levels_q4_K(const void* block, int8_t levels[256]) {
  const auto& b = *static_cast<const BlockQ4_K*>(block);
  for (int j = 0; j < 8; ++j) {
    const uint8_t* qs = b.qs + 32 * (j / 2);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) levels[32 * j + l] = static_cast<int8_t>((qs[l] >> shift) & 0x0F);
  }
}

void unpack_levels_q5_K(const void* block, int8_t levels[256]) {
  const auto& b = *static_cast<const BlockQ5_K*>(block);
  for (int j = 0; j < 8; ++j) {
    const uint8_t* qs = b.qs + 32 * (j / 2);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      levels[32 * j + l] = static_cast<int8_t>(((qs[l] >> shift) & 0x0F) | ((b.qh[l] >> j) & 1) << 4);
    }
  }
}

void pack_levels_q5_K(const int8_t levels[256], void* block) {
  auto& b = *static_cast<BlockQ5_K*>(block);
  std::memset(b.qs, 0, sizeof b.qs);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int e = 0; e < QK_K; ++e) {
    const int q = levels[e];
    uint8_t& byte = b.qs[32 * (e / 64) + e % 32];
    byte = static_cast<uint8_t>(byte | (q & 0x0F) << ((e % 64) < 32 ? 0 : 4));
    b.qh[e % 32] = static_cast<uint8_t>(b.qh[e % 32] | ((q >> 4) & 1) << (e / 32));
  }
}

void unpack_levels_q6_K(const void* block, int8_t levels[256]) {
  const auto& b = *static_cast<const BlockQ6_K*>(block);
  for (int j = 0; j < 8; ++j) {
    const int half = j / 4, g = j % 4;
    const uint8_t* ql = b.ql + 64 * half + 32 * (g & 1);
    const uint8_t* qh = b.qh + 32 * half;
    const int shift = g >= 2 ? 4 : 0;
    for (int l = 0; l < 32; ++l) {
      levels[32 * j + l] = static_cast<int8_t>((((ql[l] >> shift) & 0x0F) | ((qh[l] >> (2 * g)) & 3) << 4) - 32);
    }
  }
}

void pack_levels_q6_K(const int8_t levels[256], void* block) {
  auto& b = *static_cast<BlockQ6_K*>(block);
  std::memset(b.ql, 0, sizeof b.ql);
  std::memset(b.qh, 0, sizeof b.qh);
  for (int e = 0; e < QK_K; ++e) {
    const int half = e / 128, g = (e % 128) / 32, l = e % 32;
    const int q = levels[e] + 32;
    uint8_t& byte = b.ql[64 * half + 32 * (g & 1) + l];
    byte = static_cast<uint8_t>(byte | (q & 0x0F) << (g >= 2 ? 4 : 0));
    uint8_t& hi = b.qh[32 * half + l];
    hi = static_cast<uint8_t>(hi | (q >> 4) << (2 * g));
  }
}

void dequantize_row_q2_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  int8_t q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    const float d = fp16_to_fp32(b[i].d);
    const float min = fp16_to_fp32(b[i].dmin);
    unpack_levels_q2_K(&b[i], q);
    for (int s = 0; s < QK_K / 16; ++s) {
      const float dl = d * (b[i].scales[s] & 0x0F);
      const float ml = min * (b[i].scales[s] >> 4);
      for (int l = 0; l < 16; ++l) dst[16 * s + l] = dl * q[16 * s + l] - ml;
    }
  }
}

void dequantize_row_q3_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  int8_t q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    const float d = fp16_to_fp32(b[i].d);
    unpack_levels_q3_K(&b[i], q);
    for (int s = 0; s < QK_K / 16; ++s) {
      const float dl = d * unpack_scale_q3_K(s, b[i].scales);
      for (int l = 0; l < 16; ++l) dst[16 * s + l] = dl * q[16 * s + l];
    }
  }
}

void dequantize_row_q4_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_K*>(src);
  int8_t q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    const float d = fp16_to_fp32(b[i].d);
    const float min = fp16_to_fp32(b[i].dmin);
    unpack_levels_q4_K(&b[i], q);
    for (int s = 0; s < QK_K / 32; ++s) {
      uint8_t sc, m;
      unpack_scale_min_k4(s, b[i].scales, &sc, &m);
      const float dl = d * sc, ml = min * m;
      for (int l = 0; l < 32; ++l) dst[32 * s + l] = dl * q[32 * s + l] - ml;
    }
  }
}

void dequantize_row_q5_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_K*>(src);
  int8_t q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    const float d = fp16_to_fp32(b[i].d);
    const float min = fp16_to_fp32(b[i].dmin);
    unpack_levels_q5_K(&b[i], q);
    for (int s = 0; s < QK_K / 32; ++s) {
      uint8_t sc, m;
      unpack_scale_min_k4(s, b[i].scales, &sc, &m);
      const float dl = d * sc, ml = min * m;
      for (int l = 0; l < 32; ++l) dst[32 * s + l] = dl * q[32 * s + l] - ml;
    }
  }
}

void dequantize_row_q6_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  int8_t q[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    const float d = fp16_to_fp32(b[i].d);
    unpack_levels_q6_K(&b[i], q);
    for (int s = 0; s < QK_K / 16; ++s) {
      const float dl = d * b[i].scales[s];
      for (int l = 0; l < 16; ++l) dst[16 * s + l] = dl * q[16 * s + l];
    }
  }
}

void dequantize_row_q8_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
    for (int j = 0; j < QK_K; ++j) dst[j] = b[i].d * b[i].qs[j];
  }
}

void quantize_row_q8_K_ref(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = src + i * QK_K;
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (!(amax > 0.f)) {
      // ggml leaves bsums unset here; zeroing them keeps the block valid.
      std::memset(&b[i], 0, sizeof b[i]);
      continue;
    }
    // -127 (not -128) so that every level is in -127..127: ggml made this
    // choice for IQ2_XXS's AVX path and every K-quant kernel inherits it.
    const float iscale = -127.f / max;
    for (int j = 0; j < QK_K; ++j) {
      const int v = nearest_int(iscale * x[j]);
      b[i].qs[j] = static_cast<int8_t>(v > 127 ? 127 : (v < -128 ? -128 : v));
    }
    for (int g = 0; g < QK_K / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += b[i].qs[16 * g + l];
      b[i].bsums[g] = static_cast<int16_t>(sum);
    }
    b[i].d = 1 / iscale;
  }
}

}  // namespace kestrel
