// Known-answer tests for every dequantizer: blocks built bit by bit from the
// documented layouts (blocks.h, ggml-common.h), values worked out by hand.
#include <gtest/gtest.h>

#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

template <typename Block>
std::vector<float> decode(DType type, const Block& b) {
  const TypeTraits& tt = type_traits(type);
  EXPECT_EQ(sizeof(Block), tt.block_bytes);
  std::vector<float> y(static_cast<size_t>(tt.block_size));
  tt.to_float(&b, y.data(), tt.block_size);
  return y;
}

TEST(DequantizeKat, Q4_0) {
  BlockQ4_0 b;
  b.d = 0x3800;  // 0.5
  std::memset(b.qs, 0x88, sizeof b.qs);  // level 8 -> 0
  b.qs[0] = 0x2F;  // element 0: 15 -> 3.5; element 16: 2 -> -3
  b.qs[5] = 0x80;  // element 5: 0 -> -4; element 21: 8 -> 0
  const std::vector<float> y = decode(DType::Q4_0, b);
  EXPECT_EQ(y[0], 3.5f);
  EXPECT_EQ(y[16], -3.0f);
  EXPECT_EQ(y[5], -4.0f);
  EXPECT_EQ(y[21], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
}

TEST(DequantizeKat, Q4_1) {
  BlockQ4_1 b;
  b.d = 0x3400;  // 0.25
  b.m = 0xBC00;  // -1
  std::memset(b.qs, 0x44, sizeof b.qs);  // level 4 -> 0
  b.qs[0] = 0xF0;  // element 0: 0 -> -1; element 16: 15 -> 2.75
  const std::vector<float> y = decode(DType::Q4_1, b);
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[16], 2.75f);
  EXPECT_EQ(y[7], 0.0f);
  EXPECT_EQ(y[31], 0.0f);
}

TEST(DequantizeKat, Q5_0) {
  BlockQ5_0 b;
  b.d = 0x4000;  // 2
  std::memset(b.qs, 0, sizeof b.qs);
  const uint32_t qh = (1u << 0) | (1u << 19);
  std::memcpy(b.qh, &qh, 4);
  b.qs[0] = 0x01;  // element 0: 0x11 = 17 -> 2
  b.qs[3] = 0xF0;  // element 3: 0 -> -32; element 19: 0x1F = 31 -> 30
  const std::vector<float> y = decode(DType::Q5_0, b);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[3], -32.0f);
  EXPECT_EQ(y[19], 30.0f);
  EXPECT_EQ(y[16], -32.0f);
}

TEST(DequantizeKat, Q5_1) {
  BlockQ5_1 b;
  b.d = 0x3800;  // 0.5
  b.m = 0x3C00;  // 1
  std::memset(b.qs, 0, sizeof b.qs);
  const uint32_t qh = (1u << 1) | (1u << 31);
  std::memcpy(b.qh, &qh, 4);
  b.qs[1] = 0x3A;  // element 1: 0x1A = 26 -> 14; element 17: 3 -> 2.5
  const std::vector<float> y = decode(DType::Q5_1, b);
  EXPECT_EQ(y[1], 14.0f);
  EXPECT_EQ(y[17], 2.5f);
  EXPECT_EQ(y[31], 9.0f);  // level 16
  EXPECT_EQ(y[0], 1.0f);   // level 0 -> m
}

TEST(DequantizeKat, Q8_0AndQ8_1) {
  BlockQ8_0 b0;
  b0.d = 0x3400;  // 0.25
  std::memset(b0.qs, 0, sizeof b0.qs);
  b0.qs[0] = -128;
  b0.qs[31] = 127;
  const std::vector<float> y0 = decode(DType::Q8_0, b0);
  EXPECT_EQ(y0[0], -32.0f);
  EXPECT_EQ(y0[31], 31.75f);
  EXPECT_EQ(y0[1], 0.0f);

  BlockQ8_1 b1;
  b1.d = 0x3800;  // 0.5
  b1.s = 0x7BFF;  // not used by dequantization
  std::memset(b1.qs, 0, sizeof b1.qs);
  b1.qs[2] = -3;
  const std::vector<float> y1 = decode(DType::Q8_1, b1);
  EXPECT_EQ(y1[2], -1.5f);
  EXPECT_EQ(y1[3], 0.0f);
}

TEST(DequantizeKat, Q2_K) {
  BlockQ2_K b;
  std::memset(&b, 0, sizeof b);
  b.d = 0x3C00;     // 1
  b.dmin = 0x3800;  // 0.5
  b.scales[0] = 0x21;   // elements 0..15: scale 1, min 2 -> q - 1
  b.scales[1] = 0x03;   // elements 16..31: 3q
  b.scales[5] = 0x12;   // elements 80..95: 2q - 0.5
  b.scales[12] = 0xFF;  // elements 192..207: 15q - 7.5
  b.qs[0] = 0x03;       // element 0 (shift 0) = 3
  b.qs[16] = 0x23;      // element 16 (shift 0) = 3, element 80 (shift 4) = 2
  b.qs[40] = 0x30;      // element 200: second half, byte 32 + 8, shift 4 -> 3
  const std::vector<float> y = decode(DType::Q2_K, b);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[16], 9.0f);
  EXPECT_EQ(y[80], 3.5f);
  EXPECT_EQ(y[48], 0.0f);  // sub-block 3: scale 0, min 0
  EXPECT_EQ(y[200], 37.5f);
  EXPECT_EQ(y[201], -7.5f);
}

TEST(DequantizeKat, Q3_K) {
  BlockQ3_K b;
  std::memset(&b, 0, sizeof b);
  b.d = 0x3C00;  // 1
  // Every scale biased 32 (value 0): low nibbles 0, top bits 0b10 everywhere.
  std::memset(b.scales + 8, 0xAA, 4);
  b.scales[0] = 0x01;  // scale 0 -> biased 33 -> +1
  b.scales[5] = 0xB0;  // scale 13 low nibble 0xB ...
  b.scales[9] = 0x6A;  // ... top bits 0b01 at bits 6-7 -> biased 27 -> -5
  b.qs[0] = 0x02;
  b.hmask[0] = 0x01;   // element 0: 2 (high bit set: no -4)
  // element 1: qs 0 with no high bit -> -4
  b.qs[51] = 0x30;     // element 211: half 1, byte 32 + 19, shift 4 -> 3; hmask[19] bit 6 clear -> -1
  b.qs[52] = 0x10;     // element 212: 1; hmask[20] bit 6 set -> 1
  b.hmask[20] = 0x40;
  const std::vector<float> y = decode(DType::Q3_K, b);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[1], -4.0f);
  EXPECT_EQ(y[211], 5.0f);
  EXPECT_EQ(y[212], -5.0f);
  EXPECT_EQ(y[100], 0.0f);  // scale 0
}

// Q4_K and Q5_K share scales: sub-block 0 (scale 2, min 3) and sub-block 5
// (scale 37, min 19) with d = 1, dmin = 0.5; everything else 0.
template <typename Block>
void set_k4_scales(Block& b) {
  std::memset(&b, 0, sizeof b);
  b.d = 0x3C00;
  b.dmin = 0x3800;
  b.scales[0] = 2;
  b.scales[4] = 3;
  b.scales[9] = 0x35;  // low nibbles: scale 37 & 15 = 5, min 19 & 15 = 3
  b.scales[1] = 0x80;  // scale 37 >> 4 = 2 in bits 6-7 of byte 1
  b.scales[5] = 0x40;  // min 19 >> 4 = 1 in bits 6-7 of byte 5
}

TEST(DequantizeKat, Q4_K) {
  BlockQ4_K b;
  set_k4_scales(b);
  b.qs[0] = 0x07;   // element 0: 7 -> 2*7 - 1.5
  b.qs[68] = 0xA0;  // element 164 (chunk 2, high nibble, l = 4): 10 -> 370 - 9.5
  const std::vector<float> y = decode(DType::Q4_K, b);
  EXPECT_EQ(y[0], 12.5f);
  EXPECT_EQ(y[1], -1.5f);
  EXPECT_EQ(y[164], 360.5f);
  EXPECT_EQ(y[165], -9.5f);
  EXPECT_EQ(y[40], 0.0f);
}

TEST(DequantizeKat, Q5_K) {
  BlockQ5_K b;
  set_k4_scales(b);
  b.qs[0] = 0x07;
  b.qh[0] = 0x01;   // element 0: 16 + 7 = 23 -> 46 - 1.5
  b.qs[68] = 0xA0;
  b.qh[4] = 0x20;   // element 164: bit 164/32 = 5 -> 26 -> 962 - 9.5
  const std::vector<float> y = decode(DType::Q5_K, b);
  EXPECT_EQ(y[0], 44.5f);
  EXPECT_EQ(y[164], 952.5f);
  EXPECT_EQ(y[165], -9.5f);
  EXPECT_EQ(y[32], 0.0f);
}

TEST(DequantizeKat, Q6_K) {
  BlockQ6_K b;
  std::memset(&b, 0, sizeof b);
  b.d = 0x3800;  // 0.5
  b.scales[0] = 3;
  b.scales[10] = -2;
  b.ql[0] = 0x05;
  b.qh[0] = 0x02;   // element 0: 0x25 = 37 - 32 = 5 -> 0.5*3*5
  b.ql[97] = 0x0F;  // element 161: half 1, group 1, l 1 -> ql[64+32+1] low nibble; qh[33] = 0 -> 15 - 32
  const std::vector<float> y = decode(DType::Q6_K, b);
  EXPECT_EQ(y[0], 7.5f);
  EXPECT_EQ(y[1], -48.0f);  // level -32 with scale 3
  EXPECT_EQ(y[161], 17.0f);
  EXPECT_EQ(y[16], 0.0f);   // scale 0
}

TEST(DequantizeKat, Q8_K) {
  BlockQ8_K b;
  std::memset(&b, 0, sizeof b);
  b.d = 0.125f;
  b.qs[7] = -100;
  const std::vector<float> y = decode(DType::Q8_K, b);
  EXPECT_EQ(y[7], -12.5f);
  EXPECT_EQ(y[8], 0.0f);
}

TEST(DequantizeKat, FloatTypes) {
  const uint16_t h[3] = {0x3C00, 0xC000, 0x7BFF};  // 1, -2, 65504
  float y[3];
  type_traits(DType::F16).to_float(h, y, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 65504.0f);
  const uint16_t bf[2] = {0x3F80, 0xC0A0};  // 1, -5
  type_traits(DType::BF16).to_float(bf, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -5.0f);
  const float f[2] = {1.5f, -0.25f};
  type_traits(DType::F32).to_float(f, y, 2);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[1], -0.25f);
  // And back: nearest-even rounding (1 + 2^-11 is a tie -> 1).
  const float x[2] = {1.0f + 1.0f / 2048, 3.0f};
  uint16_t out[2];
  type_traits(DType::F16).from_float(x, out, 2);
  EXPECT_EQ(out[0], 0x3C00);
  EXPECT_EQ(out[1], 0x4200);
}

TEST(DequantizeKat, MultiBlockRowsAdvanceByBlock) {
  // Two Q4_0 blocks with different d: the second block's values use its d.
  BlockQ4_0 b[2];
  b[0].d = 0x3C00;
  b[1].d = 0x4000;
  std::memset(b[0].qs, 0x99, 16);  // level 9 -> +1 * d
  std::memset(b[1].qs, 0x99, 16);
  std::vector<float> y(64);
  type_traits(DType::Q4_0).to_float(b, y.data(), 64);
  EXPECT_EQ(y[31], 1.0f);
  EXPECT_EQ(y[32], 2.0f);
  EXPECT_EQ(y[63], 2.0f);
}

}  // namespace
}  // namespace kestrel
