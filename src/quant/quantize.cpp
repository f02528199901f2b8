// quantize_row_with_importance (see quantize.h).
//
// The weighted quantizers are kept in their own small table rather than in
// TypeTraits because only `quantize` needs them and most types have none.
#include "quant/quantize.h"

#include <string>

#include "core/error.h"
#include "quant/quants_k.h"
#include "quant/quants_legacy.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

using WeightedQuantizeFn = void (*)(const float* src, void* dst, int64_t n, const float* imp);

struct WeightedQuantizer {
  DType type;
  WeightedQuantizeFn fn;
};

constexpr WeightedQuantizer kWeightedQuantizers[] = {
    {DType::Q4_0, quantize_row_q4_0}, {DType::Q4_1, quantize_row_q4_1},
    {DType::Q5_0, quantize_row_q5_0}, {DType::Q5_1, quantize_row_q5_1},
    {DType::Q2_K, quantize_row_q2_K}, {DType::Q3_K, quantize_row_q3_K},
    {DType::Q4_K, quantize_row_q4_K}, {DType::Q5_K, quantize_row_q5_K},
    {DType::Q6_K, quantize_row_q6_K},
};

}  // namespace

void quantize_row_with_importance(DType type, const float* src, void* dst, int64_t n,
                                  const float* imp) {
  const TypeTraits& tt = type_traits(type);
  if (n <= 0 || n % tt.block_size != 0) {
    throw Error("cannot quantize a row of " + std::to_string(n) + " elements to " +
                std::string(tt.name) + ": the length must be a positive multiple of " +
                std::to_string(tt.block_size));
  }
  if (imp) {
    for (const WeightedQuantizer& wq : kWeightedQuantizers) {
      if (wq.type == type) {
        wq.fn(src, dst, n, imp);
        return;
      }
    }
  }
  tt.from_float(src, dst, n);
}

}  // namespace kestrel
