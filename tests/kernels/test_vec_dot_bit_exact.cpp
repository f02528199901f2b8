// Bit-exactness of the fast quantized dot products.
//
// Every quantized vec_dot follows the canonical accumulation order of
// kernels/ref/vec_dot_ref.h, so the AVX2 result must equal the scalar
// oracle exactly (not merely closely): that is what lets the optimized
// forward pass reproduce the scalar reference's logits bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "kernel_test_util.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

TEST(VecDotBitExact, QuantizedKernelsEqualTheOracleExactly) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  test::Rng rng(20261121);
  int checked = 0;
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.is_quantized || !tt.vec_dot_ref || !tt.vec_dot_avx2) continue;
    const TypeTraits& at = type_traits(tt.vec_dot_type);
    for (int n : {tt.block_size, 8 * tt.block_size, 4096, 14336 - 14336 % (8 * 256) + 9 * tt.block_size}) {
      if (n % tt.block_size) continue;
      for (int rep = 0; rep < 8; ++rep) {
        const auto wf = test::random_floats(rng, n, rep % 2 ? 30.0f : 0.02f);
        const auto af = test::random_floats(rng, n, rep % 3 ? 1.0f : 100.0f);
        std::vector<uint8_t> w(row_bytes(tt, n)), a(row_bytes(at, n));
        tt.from_float(wf.data(), w.data(), n);
        at.from_float(af.data(), a.data(), n);
        const float want = tt.vec_dot_ref(n, w.data(), a.data());
        const float got = tt.vec_dot_avx2(n, w.data(), a.data());
        uint32_t wb, gb;
        std::memcpy(&wb, &want, 4);
        std::memcpy(&gb, &got, 4);
        ASSERT_EQ(gb, wb) << tt.name << " n=" << n << " rep " << rep << ": " << got << " vs " << want;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 10 * 8 * 3);
}

}  // namespace
}  // namespace kestrel
