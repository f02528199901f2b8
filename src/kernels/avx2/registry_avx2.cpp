// The AVX2 level's packed tile kernels (kernel_registry.h): every packed
// format has one, so this level is the floor every higher one falls to.
#include "kernels/avx2/gemm_avx2.h"
#include "kernels/kernel_registry.h"

namespace kestrel {

std::span<const PackedGemmEntry> avx2_packed_gemms() {
  static const PackedGemmEntry kTable[] = {
      {DType::Q4_0, gemm_q4_0x8_avx2, 8, Isa::Avx2},
      {DType::Q4_1, gemm_q4_1x8_avx2, 8, Isa::Avx2},
      {DType::Q5_0, gemm_q5_0x8_avx2, 8, Isa::Avx2},
      {DType::Q5_1, gemm_q5_1x8_avx2, 8, Isa::Avx2},
      {DType::Q8_0, gemm_q8_0x8_avx2, 8, Isa::Avx2},
      {DType::Q2_K, gemm_q2_Kx8_avx2, 8, Isa::Avx2},
      {DType::Q3_K, gemm_q3_Kx8_avx2, 8, Isa::Avx2},
      {DType::Q4_K, gemm_q4_Kx8_avx2, 8, Isa::Avx2},
      {DType::Q5_K, gemm_q5_Kx8_avx2, 8, Isa::Avx2},
      {DType::Q6_K, gemm_q6_Kx8_avx2, 8, Isa::Avx2},
      {DType::F16, gemm_f16x8_avx2, 16, Isa::Avx2},  // tile pairs
      {DType::BF16, gemm_bf16x8_avx2, 16, Isa::Avx2},
  };
  return kTable;
}

}  // namespace kestrel
