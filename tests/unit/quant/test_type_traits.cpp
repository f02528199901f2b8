// Consistency of the type table: sizes, names, lookups, activation formats.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

TEST(TypeTraits, HasEveryTypeWithLlamaCppNamesAndSizes) {
  struct Expect {
    DType type;
    const char* name;
    int block_size;
    size_t block_bytes;
    DType vec_dot_type;
  };
  const Expect expected[] = {
      {DType::F32, "f32", 1, 4, DType::F32},
      {DType::F16, "f16", 1, 2, DType::F16},
      {DType::BF16, "bf16", 1, 2, DType::BF16},
      {DType::Q4_0, "q4_0", 32, sizeof(BlockQ4_0), DType::Q8_0},
      {DType::Q4_1, "q4_1", 32, sizeof(BlockQ4_1), DType::Q8_1},
      {DType::Q5_0, "q5_0", 32, sizeof(BlockQ5_0), DType::Q8_0},
      {DType::Q5_1, "q5_1", 32, sizeof(BlockQ5_1), DType::Q8_1},
      {DType::Q8_0, "q8_0", 32, sizeof(BlockQ8_0), DType::Q8_0},
      {DType::Q8_1, "q8_1", 32, sizeof(BlockQ8_1), DType::Q8_1},
      {DType::Q2_K, "q2_K", 256, sizeof(BlockQ2_K), DType::Q8_K},
      {DType::Q3_K, "q3_K", 256, sizeof(BlockQ3_K), DType::Q8_K},
      {DType::Q4_K, "q4_K", 256, sizeof(BlockQ4_K), DType::Q8_K},
      {DType::Q5_K, "q5_K", 256, sizeof(BlockQ5_K), DType::Q8_K},
      {DType::Q6_K, "q6_K", 256, sizeof(BlockQ6_K), DType::Q8_K},
      {DType::Q8_K, "q8_K", 256, sizeof(BlockQ8_K), DType::Q8_K},
  };
  ASSERT_EQ(all_type_traits().size(), std::size(expected));
  for (const Expect& e : expected) {
    SCOPED_TRACE(e.name);
    const TypeTraits& tt = type_traits(e.type);
    EXPECT_EQ(tt.type, e.type);
    EXPECT_EQ(tt.name, e.name);
    EXPECT_EQ(tt.block_size, e.block_size);
    EXPECT_EQ(tt.block_bytes, e.block_bytes);
    EXPECT_EQ(tt.vec_dot_type, e.vec_dot_type);
    EXPECT_EQ(tt.is_quantized, e.block_size > 1);
    EXPECT_NE(tt.to_float, nullptr);
    EXPECT_NE(tt.from_float, nullptr);
  }
}

TEST(TypeTraits, BitsPerWeightMatchTheFormats) {
  // bpw as llama.cpp reports them: 4.5 for Q4_0, 2.625 for Q2_K, ...
  auto bpw = [](DType t) {
    const TypeTraits& tt = type_traits(t);
    return 8.0 * static_cast<double>(tt.block_bytes) / tt.block_size;
  };
  EXPECT_DOUBLE_EQ(bpw(DType::Q4_0), 4.5);
  EXPECT_DOUBLE_EQ(bpw(DType::Q5_1), 6.0);
  EXPECT_DOUBLE_EQ(bpw(DType::Q8_0), 8.5);
  EXPECT_DOUBLE_EQ(bpw(DType::Q2_K), 2.625);
  EXPECT_DOUBLE_EQ(bpw(DType::Q3_K), 3.4375);
  EXPECT_DOUBLE_EQ(bpw(DType::Q4_K), 4.5);
  EXPECT_DOUBLE_EQ(bpw(DType::Q5_K), 5.5);
  EXPECT_DOUBLE_EQ(bpw(DType::Q6_K), 6.5625);
}

TEST(TypeTraits, NamesAndTypesAreUniqueAndRoundTrip) {
  std::set<std::string> names;
  std::set<uint32_t> ids;
  for (const TypeTraits& tt : all_type_traits()) {
    EXPECT_TRUE(names.insert(std::string(tt.name)).second) << tt.name;
    EXPECT_TRUE(ids.insert(static_cast<uint32_t>(tt.type)).second) << tt.name;
    EXPECT_EQ(find_type_traits(tt.name), &tt);
    EXPECT_EQ(find_type_traits(tt.type), &tt);
    EXPECT_EQ(&type_traits(tt.type), &tt);
  }
}

TEST(TypeTraits, NameLookupIgnoresCase) {
  EXPECT_EQ(find_type_traits("Q4_K"), find_type_traits(DType::Q4_K));
  EXPECT_EQ(find_type_traits("q4_k"), find_type_traits(DType::Q4_K));
  EXPECT_EQ(find_type_traits("F16"), find_type_traits(DType::F16));
  EXPECT_EQ(find_type_traits("BF16"), find_type_traits(DType::BF16));
  EXPECT_EQ(find_type_traits("q4"), nullptr);
  EXPECT_EQ(find_type_traits(""), nullptr);
  EXPECT_EQ(find_type_traits("q4_0 "), nullptr);
}

TEST(TypeTraits, UnknownIdThrowsNamingTheId) {
  // 20 is IQ4_NL in ggml: a real type kestrel does not implement.
  EXPECT_EQ(find_type_traits(static_cast<DType>(20)), nullptr);
  try {
    type_traits(static_cast<DType>(20));
    FAIL() << "expected kestrel::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("20"), std::string::npos) << e.what();
  }
  EXPECT_THROW(type_traits(static_cast<DType>(12345)), Error);
}

TEST(TypeTraits, WeightTypesHaveADotProductAndActivationFormatsMayNot) {
  for (const TypeTraits& tt : all_type_traits()) {
    const bool activation_only = tt.type == DType::Q8_1 || tt.type == DType::Q8_K;
    if (activation_only) continue;
    SCOPED_TRACE(tt.name);
    EXPECT_NE(tt.vec_dot_ref, nullptr);
    // The activation format must itself be a known type whose blocks line up.
    const TypeTraits& act = type_traits(tt.vec_dot_type);
    EXPECT_EQ(act.block_size % tt.block_size == 0 || tt.block_size % act.block_size == 0, true);
  }
}

TEST(TypeTraits, VecDotForFallsBackToTheOracle) {
  set_force_scalar(true);
  for (const TypeTraits& tt : all_type_traits()) EXPECT_EQ(vec_dot_for(tt), tt.vec_dot_ref) << tt.name;
  set_force_scalar(false);
  for (const TypeTraits& tt : all_type_traits()) {
    const VecDotFn expected = (tt.vec_dot_avx2 && use_avx2()) ? tt.vec_dot_avx2 : tt.vec_dot_ref;
    EXPECT_EQ(vec_dot_for(tt), expected) << tt.name;
  }
}

TEST(TypeTraits, RowBytes) {
  EXPECT_EQ(row_bytes(type_traits(DType::Q4_0), 4096), 4096u / 32 * 18);
  EXPECT_EQ(row_bytes(type_traits(DType::Q6_K), 4096), 4096u / 256 * 210);
  EXPECT_EQ(row_bytes(type_traits(DType::F16), 7), 14u);
}

}  // namespace
}  // namespace kestrel
