// Packed weight layouts (packed.h): the format table, the scalar tile
// (un)packers and the scalar activation conversions the AVX2 ones must match.
//
// Tile layouts (8 rows r = 0..7; "interleave w" means: vector v of 32 bytes
// (16 for w = 2 and 1 elements of f16) holds bytes [w*v, w*v + w) of each
// row's field, row r at offset w*r):
//   q4_0x8  per 32-element block (144 B): d[8] fp16, then qs interleaved 4
//           (4 vectors: vector c holds elements 4c..4c+3 in the low nibbles
//           and 16+4c.. in the high nibbles of every row)
//   q4_1x8  per block (160 B): d[8], m[8], then qs as in q4_0x8
//   q5_0x8  per block (176 B): d[8], then the 32 values (level + 16) in
//           the 5-bit layout of q5_Kx8's sub-blocks below (5 vectors)
//   q5_1x8  per block (192 B): d[8], m[8], then the 5-bit layout
//   q8_0x8  per block (272 B): d[8], then qs interleaved 2 (16 vectors of 16
//           bytes: vector g holds elements 2g, 2g+1 of every row)
//   q2_Kx8  per super-block (672 B): d[8], dmin[8], scales interleaved 4
//           (4 vectors), then per group g of 16 elements one vector whose
//           byte k of row r holds element 16g + 4j + k in bits 2j, 2j+1
//           (j = 0..3)
//   q3_Kx8  per super-block (880 B): d[8], then the 12 scale bytes
//           transcoded and interleaved 4 (3 vectors: byte B = 0..11 holds
//           the signed 6-bit scale of group B in bits 2-7 and bits
//           2(B/4), 2(B/4)+1 of group 12 + B%4's in bits 0-1), then the
//           levels + 4 (0..7) transcoded: per 32 elements p (groups 2p and
//           2p+1), 3 vectors j = 0..2 whose byte k of row r holds Ej in
//           bits 0-2, E(j+3) in bits 3-5 and bits 2j, 2j+1 of E6 | E7 << 3
//           in bits 6-7, where Ei = element 32p + 4i + k
//   q4_Kx8  per super-block (1152 B): d[8], dmin[8], scales interleaved 4
//           (3 vectors: packed bytes 0-3, 4-7, 8-11), qs interleaved 4 (32)
//   q5_Kx8  per super-block (1408 B): d[8], dmin[8], scales interleaved 4
//           (3 vectors), then the 5-bit quants transcoded: per sub-block s
//           of 32 elements, 5 vectors j = 0..4 whose byte k of row r holds
//           element 32s + 4j + k in bits 0-4 and, in bits 5-7, bits
//           3j..3j+2 of the 15-bit x = E5 | E6 << 5 | E7 << 10, where Ei =
//           element 32s + 4i + k (GGUF keeps the fifth bits in a separate
//           32-byte array; this way the kernel makes a sub-block's 8 vectors
//           of values 0..31 in 23 operations)
//   q6_Kx8  per super-block (1680 B): d[8], scales interleaved 4 (4
//           vectors), then the 6-bit quants transcoded: per group g of 16
//           elements, 3 vectors j = 0..2 whose byte k of row r holds
//           element 16g + 4j + k in bits 0-5 and bits 2j, 2j+1 of element
//           16g + 12 + k in bits 6-7 (GGUF splits each quant into a nibble
//           and 2 high bits kept in separate arrays; this way the kernel
//           rebuilds the 4 vectors of a group in 11 operations, not 17)
//   f16x8   per element (16 B): the 8 rows' values (bf16x8 the same)
#include "kernels/packed.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/avx2/gemm_avx2.h"  // the AVX2 activation conversions
#include "kernels/avx2/vec_dot_avx2.h"
#include "kernels/matmul.h"
#include "quant/blocks.h"
#include "quant/quants_k.h"
#include "quant/quants_legacy.h"

namespace kestrel {
namespace {

// Copies `bytes` bytes of a field from 8 rows into `dst`, w bytes of each
// row at a time: dst[(8*v + r)*w + j] = src[r][w*v + j].
void interleave(uint8_t* dst, const uint8_t* const src[kPackRows], size_t bytes, size_t w) {
  for (size_t v = 0; v < bytes / w; ++v) {
    for (int r = 0; r < kPackRows; ++r) std::memcpy(dst + (kPackRows * v + r) * w, src[r] + w * v, w);
  }
}

void deinterleave(const uint8_t* src, uint8_t* const dst[kPackRows], size_t bytes, size_t w) {
  for (size_t v = 0; v < bytes / w; ++v) {
    for (int r = 0; r < kPackRows; ++r) std::memcpy(dst[r] + w * v, src + (kPackRows * v + r) * w, w);
  }
}

// A field of a source block: offset and size within the block, and how the
// tile interleaves it.
struct Field {
  size_t offset;
  size_t bytes;
  size_t width;
};

// The fields of one block of 8 rows (block r at blocks[r]), interleaved one
// after the other into out; returns the end. And back.
uint8_t* interleave_fields(const uint8_t* const blocks[kPackRows], std::span<const Field> fields, uint8_t* out) {
  for (const Field& f : fields) {
    const uint8_t* fsrc[kPackRows];
    for (int r = 0; r < kPackRows; ++r) fsrc[r] = blocks[r] + f.offset;
    interleave(out, fsrc, f.bytes, f.width);
    out += kPackRows * f.bytes;
  }
  return out;
}

const uint8_t* deinterleave_fields(const uint8_t* in, std::span<const Field> fields,
                                   uint8_t* const blocks[kPackRows]) {
  for (const Field& f : fields) {
    uint8_t* fdst[kPackRows];
    for (int r = 0; r < kPackRows; ++r) fdst[r] = blocks[r] + f.offset;
    deinterleave(in, fdst, f.bytes, f.width);
    in += kPackRows * f.bytes;
  }
  return in;
}

// Block-structured formats: every block of the 8 rows becomes one tile
// block whose fields follow each other in `fields` order.
template <typename Block, int64_t kBlockElems, const Field* kFields, size_t kNumFields>
struct BlockPacker {
  static void pack(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* tile) {
    for (int64_t b = 0; b < n_in / kBlockElems; ++b) {
      const uint8_t* src[kPackRows];
      for (int r = 0; r < kPackRows; ++r) src[r] = rows + r * row_bytes + b * sizeof(Block);
      interleave_fields(src, {kFields, kNumFields}, tile + b * kPackRows * sizeof(Block));
    }
  }

  static void unpack(const uint8_t* tile, int64_t n_in, uint8_t* rows, size_t row_bytes) {
    for (int64_t b = 0; b < n_in / kBlockElems; ++b) {
      uint8_t* dst[kPackRows];
      for (int r = 0; r < kPackRows; ++r) dst[r] = rows + r * row_bytes + b * sizeof(Block);
      deinterleave_fields(tile + b * kPackRows * sizeof(Block), {kFields, kNumFields}, dst);
    }
  }
};

constexpr Field kQ4_0Fields[] = {{offsetof(BlockQ4_0, d), 2, 2}, {offsetof(BlockQ4_0, qs), 16, 4}};
constexpr Field kQ4_1Fields[] = {
    {offsetof(BlockQ4_1, d), 2, 2}, {offsetof(BlockQ4_1, m), 2, 2}, {offsetof(BlockQ4_1, qs), 16, 4}};
constexpr Field kQ8_0Fields[] = {{offsetof(BlockQ8_0, d), 2, 2}, {offsetof(BlockQ8_0, qs), 32, 2}};
constexpr Field kQ4_KFields[] = {{offsetof(BlockQ4_K, d), 2, 2},
                                 {offsetof(BlockQ4_K, dmin), 2, 2},
                                 {offsetof(BlockQ4_K, scales), 12, 4},
                                 {offsetof(BlockQ4_K, qs), 128, 4}};

using PackQ4_0 = BlockPacker<BlockQ4_0, QK4_0, kQ4_0Fields, std::size(kQ4_0Fields)>;
using PackQ4_1 = BlockPacker<BlockQ4_1, QK4_1, kQ4_1Fields, std::size(kQ4_1Fields)>;
using PackQ8_0 = BlockPacker<BlockQ8_0, QK8_0, kQ8_0Fields, std::size(kQ8_0Fields)>;
using PackQ4_K = BlockPacker<BlockQ4_K, QK_K, kQ4_KFields, std::size(kQ4_KFields)>;

// Formats whose quants are transcoded: per block, the head fields are
// interleaved as above, then Codec::encode writes row r's share of the
// transcoded bytes from its GGUF block, and Codec::decode rewrites the
// block's quant bytes (levels, scales) from them.
template <typename Block, int64_t kBlockElems, const Field* kHead, size_t kNumHead, typename Codec>
struct TranscodePacker {
  static void pack(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* tile) {
    for (int64_t b = 0; b < n_in / kBlockElems; ++b) {
      const uint8_t* src[kPackRows];
      for (int r = 0; r < kPackRows; ++r) src[r] = rows + r * row_bytes + b * sizeof(Block);
      uint8_t* out = interleave_fields(src, {kHead, kNumHead}, tile + b * kPackRows * sizeof(Block));
      for (int r = 0; r < kPackRows; ++r) Codec::encode(src[r], r, out);
    }
  }

  static void unpack(const uint8_t* tile, int64_t n_in, uint8_t* rows, size_t row_bytes) {
    for (int64_t b = 0; b < n_in / kBlockElems; ++b) {
      uint8_t* dst[kPackRows];
      for (int r = 0; r < kPackRows; ++r) dst[r] = rows + r * row_bytes + b * sizeof(Block);
      const uint8_t* in = deinterleave_fields(tile + b * kPackRows * sizeof(Block), {kHead, kNumHead}, dst);
      for (int r = 0; r < kPackRows; ++r) Codec::decode(in, r, dst[r]);
    }
  }
};

// Byte k of row r in vector v of a run of transcoded vectors.
size_t at(int v, int r, int k) { return static_cast<size_t>(32 * v + 4 * r + k); }

// q6_Kx8: levels + 32 (0..63), 3 vectors per group of 16 (layout above).
struct Q6_KCodec {
  static void encode(const uint8_t* block, int r, uint8_t* out) {
    int8_t lv[QK_K];
    unpack_levels_q6_K(block, lv);
    auto q = [&](int e) { return lv[e] + 32; };
    for (int g = 0; g < QK_K / 16; ++g) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 4; ++k) {
          out[at(3 * g + j, r, k)] =
              static_cast<uint8_t>(q(16 * g + 4 * j + k) | ((q(16 * g + 12 + k) >> (2 * j)) & 3) << 6);
        }
      }
    }
  }
  static void decode(const uint8_t* in, int r, uint8_t* block) {
    uint8_t q[QK_K] = {};
    for (int g = 0; g < QK_K / 16; ++g) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 4; ++k) {
          const uint8_t byte = in[at(3 * g + j, r, k)];
          q[16 * g + 4 * j + k] = byte & 0x3F;
          q[16 * g + 12 + k] = static_cast<uint8_t>(q[16 * g + 12 + k] | (byte >> 6) << (2 * j));
        }
      }
    }
    int8_t lv[QK_K];
    for (int e = 0; e < QK_K; ++e) lv[e] = static_cast<int8_t>(q[e] - 32);
    pack_levels_q6_K(lv, block);
  }
};

// q2_Kx8: levels 0..3, one vector per group of 16 (bit pairs).
struct Q2_KCodec {
  static void encode(const uint8_t* block, int r, uint8_t* out) {
    int8_t lv[QK_K];
    unpack_levels_q2_K(block, lv);
    for (int g = 0; g < QK_K / 16; ++g) {
      for (int k = 0; k < 4; ++k) {
        unsigned byte = 0;
        for (int j = 0; j < 4; ++j) byte |= static_cast<unsigned>(lv[16 * g + 4 * j + k]) << (2 * j);
        out[at(g, r, k)] = static_cast<uint8_t>(byte);
      }
    }
  }
  static void decode(const uint8_t* in, int r, uint8_t* block) {
    int8_t lv[QK_K];
    for (int g = 0; g < QK_K / 16; ++g) {
      for (int k = 0; k < 4; ++k) {
        for (int j = 0; j < 4; ++j) lv[16 * g + 4 * j + k] = static_cast<int8_t>((in[at(g, r, k)] >> (2 * j)) & 3);
      }
    }
    pack_levels_q2_K(lv, block);
  }
};

// q3_Kx8: the 12 scale bytes transcoded (interleaved 4: 3 vectors), then
// levels + 4 (0..7), 3 vectors per 32 elements (layout above).
struct Q3_KCodec {
  static constexpr size_t kScaleBytes = kPackRows * 12;
  static void encode(const uint8_t* block, int r, uint8_t* out) {
    const auto& blk = *reinterpret_cast<const BlockQ3_K*>(block);
    auto t = [&](int g) { return static_cast<unsigned>(unpack_scale_q3_K(g, blk.scales)) & 63; };
    for (int B = 0; B < 12; ++B) {
      out[at(B / 4, r, B % 4)] = static_cast<uint8_t>(t(B) << 2 | ((t(12 + B % 4) >> (2 * (B / 4))) & 3));
    }
    int8_t lv[QK_K];
    unpack_levels_q3_K(block, lv);
    for (int p = 0; p < QK_K / 32; ++p) {
      for (int k = 0; k < 4; ++k) {
        auto e = [&](int i) { return static_cast<unsigned>(lv[32 * p + 4 * i + k] + 4); };
        const unsigned y = e(6) | e(7) << 3;
        for (int j = 0; j < 3; ++j) {
          out[kScaleBytes + at(3 * p + j, r, k)] = static_cast<uint8_t>(e(j) | e(j + 3) << 3 | ((y >> (2 * j)) & 3) << 6);
        }
      }
    }
  }
  static void decode(const uint8_t* in, int r, uint8_t* block) {
    auto& blk = *reinterpret_cast<BlockQ3_K*>(block);
    uint8_t biased[16];
    for (int B = 0; B < 12; ++B) biased[B] = static_cast<uint8_t>(((in[at(B / 4, r, B % 4)] >> 2) + 32) & 63);
    for (int k = 0; k < 4; ++k) {
      unsigned t = 0;
      for (int v = 0; v < 3; ++v) t |= static_cast<unsigned>(in[at(v, r, k)] & 3) << (2 * v);
      biased[12 + k] = static_cast<uint8_t>((t + 32) & 63);
    }
    pack_scales_q3_K(biased, blk.scales);
    int8_t lv[QK_K];
    for (int p = 0; p < QK_K / 32; ++p) {
      for (int k = 0; k < 4; ++k) {
        unsigned y = 0;
        for (int j = 0; j < 3; ++j) {
          const uint8_t byte = in[kScaleBytes + at(3 * p + j, r, k)];
          lv[32 * p + 4 * j + k] = static_cast<int8_t>((byte & 7) - 4);
          lv[32 * p + 4 * (j + 3) + k] = static_cast<int8_t>(((byte >> 3) & 7) - 4);
          y |= static_cast<unsigned>(byte >> 6) << (2 * j);
        }
        lv[32 * p + 24 + k] = static_cast<int8_t>((y & 7) - 4);
        lv[32 * p + 28 + k] = static_cast<int8_t>((y >> 3) - 4);
      }
    }
    pack_levels_q3_K(lv, block);
  }
};

// The 5-bit layout of q5_Kx8 (per sub-block) and q5_0x8 / q5_1x8 (per
// block): 32 values 0..31 of row r in 5 vectors of 32 bytes.
void put_values5(const uint8_t v[32], int r, uint8_t* vecs) {
  for (int k = 0; k < 4; ++k) {
    auto e = [&](int i) { return static_cast<unsigned>(v[4 * i + k]); };
    const unsigned x = e(5) | e(6) << 5 | e(7) << 10;
    for (int j = 0; j < 5; ++j) vecs[at(j, r, k)] = static_cast<uint8_t>(e(j) | ((x >> (3 * j)) & 7) << 5);
  }
}

void get_values5(const uint8_t* vecs, int r, uint8_t v[32]) {
  for (int k = 0; k < 4; ++k) {
    unsigned x = 0;
    for (int j = 0; j < 5; ++j) {
      const uint8_t byte = vecs[at(j, r, k)];
      v[4 * j + k] = byte & 0x1F;
      x |= static_cast<unsigned>(byte >> 5) << (3 * j);
    }
    for (int i = 5; i < 8; ++i) v[4 * i + k] = static_cast<uint8_t>((x >> (5 * (i - 5))) & 0x1F);
  }
}

// q5_Kx8: levels 0..31, 160 bytes per sub-block of 32.
struct Q5_KCodec {
  static void encode(const uint8_t* block, int r, uint8_t* out) {
    int8_t lv[QK_K];
    unpack_levels_q5_K(block, lv);
    for (int s = 0; s < QK_K / 32; ++s) put_values5(reinterpret_cast<const uint8_t*>(lv) + 32 * s, r, out + 160 * s);
  }
  static void decode(const uint8_t* in, int r, uint8_t* block) {
    int8_t lv[QK_K];
    for (int s = 0; s < QK_K / 32; ++s) get_values5(in + 160 * s, r, reinterpret_cast<uint8_t*>(lv) + 32 * s);
    pack_levels_q5_K(lv, block);
  }
};

// q5_0x8 / q5_1x8: the block's 32 values (level + kBias) in the 5-bit layout.
template <typename Block, void (*Levels)(const void*, int8_t*), int kBias>
struct Q5LegacyCodec {
  static void encode(const uint8_t* block, int r, uint8_t* out) {
    int8_t lv[32];
    uint8_t v[32];
    Levels(block, lv);
    for (int j = 0; j < 32; ++j) v[j] = static_cast<uint8_t>(lv[j] + kBias);
    put_values5(v, r, out);
  }
  static void decode(const uint8_t* in, int r, uint8_t* block) {
    uint8_t v[32];
    get_values5(in, r, v);
    auto* blk = reinterpret_cast<Block*>(block);
    pack_values_q5(v, blk->qs, blk->qh);
  }
};

constexpr Field kQ2_KHead[] = {
    {offsetof(BlockQ2_K, d), 2, 2}, {offsetof(BlockQ2_K, dmin), 2, 2}, {offsetof(BlockQ2_K, scales), 16, 4}};
constexpr Field kQ3_KHead[] = {{offsetof(BlockQ3_K, d), 2, 2}};
constexpr Field kQ5_KHead[] = {
    {offsetof(BlockQ5_K, d), 2, 2}, {offsetof(BlockQ5_K, dmin), 2, 2}, {offsetof(BlockQ5_K, scales), 12, 4}};
constexpr Field kQ6_KHead[] = {{offsetof(BlockQ6_K, d), 2, 2}, {offsetof(BlockQ6_K, scales), 16, 4}};
constexpr Field kQ5_0Head[] = {{offsetof(BlockQ5_0, d), 2, 2}};
constexpr Field kQ5_1Head[] = {{offsetof(BlockQ5_1, d), 2, 2}, {offsetof(BlockQ5_1, m), 2, 2}};

using PackQ2_K = TranscodePacker<BlockQ2_K, QK_K, kQ2_KHead, std::size(kQ2_KHead), Q2_KCodec>;
using PackQ3_K = TranscodePacker<BlockQ3_K, QK_K, kQ3_KHead, std::size(kQ3_KHead), Q3_KCodec>;
using PackQ5_K = TranscodePacker<BlockQ5_K, QK_K, kQ5_KHead, std::size(kQ5_KHead), Q5_KCodec>;
using PackQ6_K = TranscodePacker<BlockQ6_K, QK_K, kQ6_KHead, std::size(kQ6_KHead), Q6_KCodec>;
using PackQ5_0 = TranscodePacker<BlockQ5_0, QK5_0, kQ5_0Head, std::size(kQ5_0Head),
                                 Q5LegacyCodec<BlockQ5_0, unpack_levels_q5_0, 16>>;
using PackQ5_1 = TranscodePacker<BlockQ5_1, QK5_1, kQ5_1Head, std::size(kQ5_1Head),
                                 Q5LegacyCodec<BlockQ5_1, unpack_levels_q5_1, 0>>;

// f16 and bf16: one element (2 bytes) per row per step.
void pack_f16(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* tile) {
  const uint8_t* src[kPackRows];
  for (int r = 0; r < kPackRows; ++r) src[r] = rows + r * row_bytes;
  interleave(tile, src, static_cast<size_t>(n_in) * 2, 2);
}

void unpack_f16(const uint8_t* tile, int64_t n_in, uint8_t* rows, size_t row_bytes) {
  uint8_t* dst[kPackRows];
  for (int r = 0; r < kPackRows; ++r) dst[r] = rows + r * row_bytes;
  deinterleave(tile, dst, static_cast<size_t>(n_in) * 2, 2);
}

// --- scalar activation conversions (the oracles of the AVX2 ones) ---

void prepare_q8_0_sum_ref(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_0Sum*>(dst);
  for (int64_t i = 0; i < n / 32; ++i) {
    BlockQ8_0 b;
    quantize_row_q8_0_ref(x + 32 * i, &b, 32);
    out[i].d = fp16_to_fp32(b.d);
    out[i].sum8 = 0;
    for (int j = 0; j < 32; ++j) out[i].sum8 += 8 * b.qs[j];
    std::memcpy(out[i].qs, b.qs, 32);
  }
}

void prepare_q8_1_float_ref(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_1F*>(dst);
  for (int64_t i = 0; i < n / 32; ++i) {
    BlockQ8_1 b;
    quantize_row_q8_1_ref(x + 32 * i, &b, 32);
    out[i].d = fp16_to_fp32(b.d);
    out[i].s = fp16_to_fp32(b.s);
    std::memcpy(out[i].qs, b.qs, 32);
  }
}

void prepare_q8_0_wide_ref(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<ActQ8_0Wide*>(dst);
  for (int64_t i = 0; i < n / 32; ++i) {
    BlockQ8_0 b;
    quantize_row_q8_0_ref(x + 32 * i, &b, 32);
    out[i].d = fp16_to_fp32(b.d);
    for (int j = 0; j < 32; ++j) out[i].qs[j] = b.qs[j];
  }
}

void prepare_bf16_rounded_ref(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<float*>(dst);
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
}

void prepare_f16_rounded_ref(const float* x, void* dst, int64_t n) {
  auto* out = static_cast<float*>(dst);
  for (int64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

const PackedFormat kPackedFormats[] = {
    {DType::Q4_0, "q4_0x8", 32, sizeof(ActQ8_0Sum), prepare_q8_0_sum_ref, prepare_q8_0_sum_avx2,
     PackQ4_0::pack, PackQ4_0::unpack},
    {DType::Q4_1, "q4_1x8", 32, sizeof(ActQ8_1F), prepare_q8_1_float_ref, prepare_q8_1_float_avx2,
     PackQ4_1::pack, PackQ4_1::unpack},
    {DType::Q5_0, "q5_0x8", 32, sizeof(ActQ8_0Sum), prepare_q8_0_sum_ref, prepare_q8_0_sum_avx2,
     PackQ5_0::pack, PackQ5_0::unpack},
    {DType::Q5_1, "q5_1x8", 32, sizeof(ActQ8_1F), prepare_q8_1_float_ref, prepare_q8_1_float_avx2,
     PackQ5_1::pack, PackQ5_1::unpack},
    {DType::Q8_0, "q8_0x8", 32, sizeof(ActQ8_0Wide), prepare_q8_0_wide_ref, prepare_q8_0_wide_avx2,
     PackQ8_0::pack, PackQ8_0::unpack},
    {DType::Q2_K, "q2_Kx8", QK_K, sizeof(BlockQ8_K), quantize_row_q8_K_ref, quantize_row_q8_K_avx2,
     PackQ2_K::pack, PackQ2_K::unpack},
    {DType::Q3_K, "q3_Kx8", QK_K, sizeof(BlockQ8_K), quantize_row_q8_K_ref, quantize_row_q8_K_avx2,
     PackQ3_K::pack, PackQ3_K::unpack},
    {DType::Q4_K, "q4_Kx8", QK_K, sizeof(BlockQ8_K), quantize_row_q8_K_ref, quantize_row_q8_K_avx2,
     PackQ4_K::pack, PackQ4_K::unpack},
    {DType::Q5_K, "q5_Kx8", QK_K, sizeof(BlockQ8_K), quantize_row_q8_K_ref, quantize_row_q8_K_avx2,
     PackQ5_K::pack, PackQ5_K::unpack},
    {DType::Q6_K, "q6_Kx8", QK_K, sizeof(BlockQ8_K), quantize_row_q8_K_ref, quantize_row_q8_K_avx2,
     PackQ6_K::pack, PackQ6_K::unpack},
    {DType::F16, "f16x8", 1, sizeof(float), prepare_f16_rounded_ref, prepare_f16_rounded_avx2, pack_f16,
     unpack_f16},
    {DType::BF16, "bf16x8", 1, sizeof(float), prepare_bf16_rounded_ref, prepare_bf16_rounded_avx2, pack_f16,
     unpack_f16},
};

constexpr size_t kHugePage = size_t(2) << 20;

}  // namespace

const PackedFormat* find_packed_format(DType t) {
  for (const PackedFormat& f : kPackedFormats) {
    if (f.weight_type == t) return &f;
  }
  return nullptr;
}

size_t packed_act_row_bytes(const PackedFormat& f, int64_t n_in) {
  const size_t b = static_cast<size_t>(n_in / f.act_block) * f.act_block_bytes;
  return (b + 63) / 64 * 64;
}

void PackedBuffer::Free::operator()(uint8_t* p) const { std::free(p); }

PackedBuffer pack_weight_matrix(WeightMatrix& w, int n_threads) {
  PackedBuffer buf;
  const PackedFormat* f = w.tt ? find_packed_format(w.tt->type) : nullptr;
  const int64_t n_tiles = w.n_out / kPackRows;
  if (!f || !cpu_has_avx2() || n_tiles == 0 || w.n_in % f->act_block != 0) return buf;
  const size_t tile_bytes = kPackRows * w.row_bytes();
  const size_t bytes = tile_bytes * static_cast<size_t>(n_tiles);
  // Large copies on 2 MiB boundaries so the kernel can back them with huge
  // pages: decode streams the whole matrix and would otherwise walk a 4 KiB
  // page table entry every 4 KiB.
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, (bytes + align - 1) / align * align));
  if (!p) throw Error("out of memory packing tensor '" + std::string(w.name) + "'");
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
  // Tiles are independent: threads take contiguous runs (each also takes
  // the first-touch page clearing of its run, a third of the load time).
  const auto* src = static_cast<const uint8_t*>(w.data);
  auto pack_run = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) f->pack_tile(src + t * tile_bytes, w.row_bytes(), w.n_in, p + t * tile_bytes);
  };
  const int64_t parts = std::clamp<int64_t>(n_threads, 1, std::max<int64_t>(1, n_tiles / 64));
  std::vector<std::thread> helpers;
  int64_t started = 1;  // runs 1..started-1 have a helper thread
  try {
    helpers.reserve(static_cast<size_t>(parts - 1));
    for (; started < parts; ++started) {
      helpers.emplace_back(pack_run, n_tiles * started / parts, n_tiles * (started + 1) / parts);
    }
  } catch (const std::exception&) {
    // No thread to be had (resource limits): the caller packs the rest.
  }
  pack_run(0, n_tiles / parts);
  pack_run(n_tiles * started / parts, n_tiles);
  for (auto& h : helpers) h.join();
  buf.data.reset(p);
  buf.bytes = bytes;
  w.packed = f;
  w.packed_data = p;
  return buf;
}

}  // namespace kestrel
