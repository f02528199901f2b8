// Matrix products between a weight matrix of any table type and f32
// activation rows, the engine's hot path.
//
// The activations are first converted to the weight type's vec_dot_type
// (Q8_0 / Q8_1 / Q8_K blocks, F16, BF16 or F32) exactly as llama.cpp does,
// then each output is one vec_dot. Work is split over the pool by output row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/thread_pool.h"
#include "quant/type_traits.h"

namespace kestrel {

// A weight matrix: n_out rows of n_in elements, stored row after row.
struct WeightMatrix {
  const TypeTraits* tt = nullptr;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  std::string_view name;  // GGUF tensor name (for observers such as imatrix)
  size_t row_bytes() const { return kestrel::row_bytes(*tt, n_in); }
};

// Bytes of scratch matmul() needs to hold n_tok converted activation rows.
size_t matmul_scratch_bytes(const WeightMatrix& w, int64_t n_tok);

// Which vec_dot implementation to use.
enum class KernelPath { Auto, Scalar };

// y[t * ldy + o] = sum_i W[o][i] * x[t * n_in + i] for t < n_tok, o < n_out.
// `scratch` must hold matmul_scratch_bytes(w, n_tok) bytes.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tok, float* y, int64_t ldy,
            void* scratch, ThreadPool& pool, KernelPath path = KernelPath::Auto);

// Converts n_tok rows of n_in floats to w's activation format into `dst`
// (row after row); exposed for tests and the reference forward pass.
void convert_activations(const WeightMatrix& w, const float* x, int64_t n_tok, void* dst);

// Dequantizes row `row` of w into dst (n_in floats): token-embedding lookup.
void dequantize_row(const WeightMatrix& w, int64_t row, float* dst);

}  // namespace kestrel
