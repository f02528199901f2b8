// Matrix products between a weight matrix of any table type and f32
// activation rows, the engine's hot path.
//
// The activations are first converted to the weight type's vec_dot_type
// (Q8_0 / Q8_1 / Q8_K blocks, F16, BF16 or F32) exactly as llama.cpp does,
// then every output is the oracle's dot product. Matrices with a packed copy
// (kernels/packed.h: Q4_0, Q8_0, Q4_K, Q6_K, F16 on AVX2 CPUs) run tile
// kernels over 8 rows x up to 4 activation rows at a time; the rest, and
// KernelPath::Scalar, use one vec_dot per output. Results are identical
// either way for the quantized types (see kernels/ref/vec_dot_ref.h).
//
// Work is split over the pool in chunks of rows (times blocks of tokens
// that fit in L2 for prefill) that threads claim dynamically, so a thread
// delayed by the OS does not hold the others up. Several products that read
// the same input (Q/K/V, gate/up) run as one group: one activation
// conversion and one pool dispatch, optionally with the SwiGLU epilogue or a
// residual add fused in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "core/thread_pool.h"
#include "quant/type_traits.h"

namespace kestrel {

struct PackedFormat;

// A weight matrix: n_out rows of n_in elements, stored row after row.
struct WeightMatrix {
  const TypeTraits* tt = nullptr;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  std::string_view name;  // GGUF tensor name (for observers such as imatrix)
  // Row-interleaved copy of the first n_out / 8 * 8 rows (kernels/packed.h),
  // set by pack_weight_matrix(); null when the matrix is not packed.
  const PackedFormat* packed = nullptr;
  const uint8_t* packed_data = nullptr;
  size_t row_bytes() const { return kestrel::row_bytes(*tt, n_in); }
};

// Which kernels to use.
enum class KernelPath { Auto, Scalar };

// One product of a group: y[t * ldy + o] (+)= sum_i W[o][i] * x[t * n_in + i].
struct MatmulOp {
  const WeightMatrix* w = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
  bool accumulate = false;  // add to y (a residual connection) instead of storing
};

// Applied to each chunk of output rows once every product of the group has
// computed it.
enum class Epilogue {
  None,
  SwiGLU,  // ops = {gate, up} of equal shape: y_gate = silu(y_gate) * y_up
};

// Bytes of scratch a group of these matrices needs for n_tok input rows.
size_t matmul_scratch_bytes(std::initializer_list<const WeightMatrix*> ws, int64_t n_tok);
size_t matmul_scratch_bytes(const WeightMatrix& w, int64_t n_tok);

// Runs every op of the group on the same input x (n_tok rows of n_in
// floats, n_in equal for all ops). `scratch` must hold
// matmul_scratch_bytes() of the group's matrices.
void matmul_group(std::span<const MatmulOp> ops, const float* x, int64_t n_tok, void* scratch,
                  ThreadPool& pool, KernelPath path = KernelPath::Auto, Epilogue epilogue = Epilogue::None);

// y[t * ldy + o] = sum_i W[o][i] * x[t * n_in + i] for t < n_tok, o < n_out.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tok, float* y, int64_t ldy,
            void* scratch, ThreadPool& pool, KernelPath path = KernelPath::Auto);

// Converts n_tok rows of n_in floats to w's activation format into `dst`
// (row after row) with the reference quantizer; exposed for tests and the
// reference forward pass.
void convert_activations(const WeightMatrix& w, const float* x, int64_t n_tok, void* dst);

// Dequantizes row `row` of w into dst (n_in floats): token-embedding lookup.
void dequantize_row(const WeightMatrix& w, int64_t row, float* dst);

}  // namespace kestrel
