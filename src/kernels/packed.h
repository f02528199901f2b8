// Row-interleaved ("packed") weight layouts, made once at load time, and the
// activation formats their AVX2 matrix kernels read.
//
// A packed matrix stores tiles of kPackRows (8) consecutive weight rows. In
// a tile, each block index holds the 8 rows' scales side by side followed by
// their quants interleaved 4 (or 2, or 1) bytes at a time, so one 32-byte
// load holds the same few columns of all 8 rows and one broadcast activation
// word feeds all of them: the kernels keep one output row per SIMD lane and
// never reduce horizontally. A tile has exactly the bytes of its 8 source
// rows (same bandwidth), rearranged; unpack_tile() restores them, which is
// how the tests check the layout.
//
// Every packed kernel reproduces the scalar oracle's arithmetic exactly: the
// same exact integer block sums and the canonical per-block float order of
// kernels/ref/vec_dot_ref.h, one output row per lane, so its results are
// bit-identical to vec_dot_*_ref on the original rows (f16: equal up to f32
// summation order, like the f16 vec_dot). Rows past the last full tile stay
// on the plain vec_dot path.
//
// Activations are converted once per product into the format the kernel
// reads (PackedFormat::act): Q8_0 blocks carrying their sum (for the -8 /
// -16 offsets of Q4_0 / Q5_0), Q8_1 with f32 scale and sum, Q8_0 widened to int16 (Q8_0 x Q8_0 multiplies with madd), Q8_K
// as is, or f32 values rounded through f16 (bf16 for bf16x8). Each has a scalar `prepare_ref`
// (the reference quantizer plus a plain reshuffle) and an AVX2 `prepare`
// that must produce the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/dtype.h"
#include "quant/type_traits.h"

namespace kestrel {

struct WeightMatrix;

constexpr int kPackRows = 8;

// Q8_0 activation block plus 8 times the sum of its quants: Q4_0 x8
// kernels fold the weights' -8 offset as -sum8, formed once per activation
// block here rather than once per block of every weight tile.
struct ActQ8_0Sum {
  float d;  // the Q8_0 block's fp16 scale, converted (exact)
  int32_t sum8;
  int8_t qs[32];
};
static_assert(sizeof(ActQ8_0Sum) == 40);

// Q8_1 activation block with its fp16 scale and s = d * sum(q) converted to
// f32 (exact): what Q4_1 x8 / Q5_1 x8 kernels read.
struct ActQ8_1F {
  float d;
  float s;
  int8_t qs[32];
};
static_assert(sizeof(ActQ8_1F) == 40);

// Q8_0 activation block widened to int16 (Q8_0 x8 kernels use madd, which
// is exact for every pair of int8 values, -128 included).
struct ActQ8_0Wide {
  float d;
  int16_t qs[32];
};
static_assert(sizeof(ActQ8_0Wide) == 68);

// Converts one row of n floats to a packed kernel's activation format.
using PrepareFn = void (*)(const float* x, void* dst, int64_t n);

// n_tiles consecutive tiles (tile_bytes apart, rows 8i..8i+7 in tile i)
// times n_act activation rows (act_stride bytes apart):
// y[t * ldy + 8i + r] = dot(row 8i + r, act t), or += when accumulate.
using PackedGemmFn = void (*)(int64_t n_in, const uint8_t* tiles, int64_t n_tiles, size_t tile_bytes,
                              const uint8_t* act, size_t act_stride, int64_t n_act, float* y, int64_t ldy,
                              bool accumulate);

struct PackedFormat {
  DType weight_type;      // the GGUF type it rearranges
  std::string_view name;  // e.g. "q4_0x8"
  int64_t act_block;      // elements per activation block
  size_t act_block_bytes; // bytes per activation block
  PrepareFn prepare_ref;  // scalar activation conversion (the oracle)
  PrepareFn prepare;      // AVX2 conversion, same bytes
  // One tile from 8 rows (row_bytes apart) of n_in elements, and back.
  void (*pack_tile)(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* tile);
  void (*unpack_tile)(const uint8_t* tile, int64_t n_in, uint8_t* rows, size_t row_bytes);
  // The tile kernels for each ISA level live in the registry
  // (kernels/kernel_registry.h), not here.
};

// The packed format for weight type t, or nullptr (t stays on vec_dot).
const PackedFormat* find_packed_format(DType t);

// Bytes of one converted activation row (a multiple of 64).
size_t packed_act_row_bytes(const PackedFormat& f, int64_t n_in);

// Owner of a matrix's packed copy (64-byte aligned).
struct PackedBuffer {
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data;
  size_t bytes = 0;
};

// Packs w's full tiles when a format exists for its type and the CPU runs
// the AVX2 kernels; points w.packed / w.packed_data at the copy and returns
// its owner (empty when w stays unpacked). n_threads threads share the tiles.
PackedBuffer pack_weight_matrix(WeightMatrix& w, int n_threads = 1);

}  // namespace kestrel
