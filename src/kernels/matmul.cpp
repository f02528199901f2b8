// Row-parallel matrix product over the type-traits table (matmul.h).
#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace kestrel {
namespace {

const TypeTraits& act_traits(const WeightMatrix& w) { return type_traits(w.tt->vec_dot_type); }

// Output rows handled together so one activation row stays hot in cache
// while several weight rows stream past.
constexpr int64_t kRowTile = 16;

}  // namespace

size_t matmul_scratch_bytes(const WeightMatrix& w, int64_t n_tok) {
  return row_bytes(act_traits(w), w.n_in) * static_cast<size_t>(n_tok);
}

void convert_activations(const WeightMatrix& w, const float* x, int64_t n_tok, void* dst) {
  const TypeTraits& at = act_traits(w);
  const size_t rb = row_bytes(at, w.n_in);
  for (int64_t t = 0; t < n_tok; ++t) {
    at.from_float(x + t * w.n_in, static_cast<uint8_t*>(dst) + t * rb, w.n_in);
  }
}

void dequantize_row(const WeightMatrix& w, int64_t row, float* dst) {
  w.tt->to_float(static_cast<const uint8_t*>(w.data) + row * w.row_bytes(), dst, w.n_in);
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tok, float* y, int64_t ldy,
            void* scratch, ThreadPool& pool, KernelPath path) {
  const TypeTraits& at = act_traits(w);
  const size_t arb = row_bytes(at, w.n_in);
  const size_t wrb = w.row_bytes();
  const VecDotFn dot = path == KernelPath::Scalar ? w.tt->vec_dot_ref : vec_dot_for(*w.tt);
  if (!dot) throw Error("matmul: no dot-product kernel for type " + std::string(w.tt->name));

  // F32 activations are used in place; other formats are converted first.
  const uint8_t* acts = reinterpret_cast<const uint8_t*>(x);
  if (w.tt->vec_dot_type != DType::F32) {
    auto* dst = static_cast<uint8_t*>(scratch);
    if (n_tok == 1) {
      at.from_float(x, dst, w.n_in);
    } else {
      pool.run([&](int ith, int nth) {
        int64_t b, e;
        ThreadPool::split(n_tok, ith, nth, b, e);
        for (int64_t t = b; t < e; ++t) at.from_float(x + t * w.n_in, dst + t * arb, w.n_in);
      });
    }
    acts = dst;
  }

  const auto* wdata = static_cast<const uint8_t*>(w.data);
  const int n_in = static_cast<int>(w.n_in);
  const int64_t n_tiles = (w.n_out + kRowTile - 1) / kRowTile;
  pool.run([&](int ith, int nth) {
    int64_t tb, te;
    ThreadPool::split(n_tiles, ith, nth, tb, te);
    for (int64_t tile = tb; tile < te; ++tile) {
      const int64_t r0 = tile * kRowTile;
      const int64_t r1 = std::min(r0 + kRowTile, w.n_out);
      for (int64_t t = 0; t < n_tok; ++t) {
        const uint8_t* a = acts + t * arb;
        float* yt = y + t * ldy;
        for (int64_t r = r0; r < r1; ++r) yt[r] = dot(n_in, wdata + r * wrb, a);
      }
    }
  });
}

}  // namespace kestrel
