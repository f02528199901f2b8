// Dispatch tests: the type table points at the AVX2 kernels, and
// vec_dot_for() picks them exactly when the CPU has AVX2 and the scalar path
// is not forced (set_force_scalar / KESTREL_FORCE_SCALAR).
#include <gtest/gtest.h>

#include <string>

#include "core/cpu_features.h"
#include "kernels/avx2/vec_dot_avx2.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

struct ExpectedKernel {
  DType type;
  VecDotFn avx2;
};

// Every weight type with a fast path (Q8_1 / Q8_K are activation-only).
const ExpectedKernel kExpected[] = {
    {DType::Q4_0, vec_dot_q4_0_q8_0_avx2}, {DType::Q4_1, vec_dot_q4_1_q8_1_avx2},
    {DType::Q5_0, vec_dot_q5_0_q8_0_avx2}, {DType::Q5_1, vec_dot_q5_1_q8_1_avx2},
    {DType::Q8_0, vec_dot_q8_0_q8_0_avx2}, {DType::Q2_K, vec_dot_q2_K_q8_K_avx2},
    {DType::Q3_K, vec_dot_q3_K_q8_K_avx2}, {DType::Q4_K, vec_dot_q4_K_q8_K_avx2},
    {DType::Q5_K, vec_dot_q5_K_q8_K_avx2}, {DType::Q6_K, vec_dot_q6_K_q8_K_avx2},
    {DType::F16, vec_dot_f16_f16_avx2},    {DType::BF16, vec_dot_bf16_bf16_avx2},
    {DType::F32, vec_dot_f32_f32_avx2},
};

// Restores the process-wide force-scalar flag after each test.
class VecDotDispatch : public ::testing::Test {
 protected:
  void TearDown() override { set_force_scalar(false); }
};

TEST_F(VecDotDispatch, TableRowsPointAtTheAvx2Kernels) {
  for (const ExpectedKernel& e : kExpected) {
    const TypeTraits& tt = type_traits(e.type);
    EXPECT_EQ(tt.vec_dot_avx2, e.avx2) << "row " << tt.name;
    EXPECT_NE(tt.vec_dot_ref, nullptr) << "row " << tt.name;
  }
}

TEST_F(VecDotDispatch, PicksAvx2WhenAvailableAndScalarWhenForced) {
  for (const ExpectedKernel& e : kExpected) {
    const TypeTraits& tt = type_traits(e.type);
    set_force_scalar(false);
    EXPECT_EQ(vec_dot_for(tt), cpu_has_avx2() ? e.avx2 : tt.vec_dot_ref) << "row " << tt.name;
    set_force_scalar(true);
    EXPECT_EQ(vec_dot_for(tt), tt.vec_dot_ref) << "row " << tt.name << " with scalar forced";
  }
}

TEST_F(VecDotDispatch, EveryRowWithADotProductHasAFastPath) {
  // Catches a new table row that forgot its AVX2 column (or a new kernel
  // that forgot kExpected above).
  for (const TypeTraits& tt : all_type_traits()) {
    if (!tt.vec_dot_ref) continue;
    bool listed = false;
    for (const ExpectedKernel& e : kExpected) listed = listed || e.type == tt.type;
    EXPECT_TRUE(listed) << "row " << tt.name << " has a scalar vec_dot but no AVX2 kernel test";
  }
}

}  // namespace
}  // namespace kestrel
