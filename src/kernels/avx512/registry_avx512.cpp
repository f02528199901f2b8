// The AVX-512 level's packed tile kernels (kernel_registry.h). Types not
// listed fall back to the AVX2 kernels; row_unit 16 keeps thread pieces on
// tile pairs.
#include "kernels/avx512/gemm_avx512.h"
#include "kernels/kernel_registry.h"

namespace kestrel {

std::span<const PackedGemmEntry> avx512_packed_gemms() {
  static const PackedGemmEntry kTable[] = {
      {DType::Q4_0, gemm_q4_0x8_avx512, 16, Isa::Avx512},
      {DType::Q8_0, gemm_q8_0x8_avx512, 16, Isa::Avx512},
      {DType::Q4_K, gemm_q4_Kx8_avx512, 16, Isa::Avx512},
      {DType::Q5_K, gemm_q5_Kx8_avx512, 16, Isa::Avx512},
      {DType::Q6_K, gemm_q6_Kx8_avx512, 16, Isa::Avx512},
  };
  return kTable;
}

}  // namespace kestrel
