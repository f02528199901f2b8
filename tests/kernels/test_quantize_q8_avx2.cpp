// Bit-identity tests: quantize_row_q8_{0,1,K}_avx2 must write exactly the
// bytes of the reference quantizers (the table rows' from_float), including
// exact rounding ties (roundf's half-away-from-zero for Q8_0/Q8_1, half-even
// for Q8_K), ties for the largest |x| (first one wins in Q8_K), all-zero
// blocks, tiny and huge magnitudes, NaN and infinities.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernel_test_util.h"
#include "kernels/avx2/vec_dot_avx2.h"

namespace kestrel {
namespace {

using test::Rng;

struct QuantCase {
  const char* name;
  DType type;
  FromFloatFn avx2;
};

// gtest prints parameters in failure messages; the name is what matters.
void PrintTo(const QuantCase& c, std::ostream* os) { *os << c.name; }

const QuantCase kQuantCases[] = {
    {"q8_0", DType::Q8_0, quantize_row_q8_0_avx2},
    {"q8_1", DType::Q8_1, quantize_row_q8_1_avx2},
    {"q8_K", DType::Q8_K, quantize_row_q8_K_avx2},
};

// Inputs that stress every rounding and selection rule; n is a multiple of
// 256 so all three formats take it.
std::vector<std::pair<std::string, std::vector<float>>> tricky_inputs() {
  constexpr int n = 1024;
  std::vector<std::pair<std::string, std::vector<float>>> out;
  Rng rng(42);
  out.emplace_back("normal", test::random_floats(rng, n));
  out.emplace_back("huge", test::random_floats(rng, n, 1e30f));
  out.emplace_back("tiny", test::random_floats(rng, n, 1e-30f));
  out.emplace_back("zeros", std::vector<float>(n, 0.0f));
  {
    // amax = 127 so d = 1 and every x*id is an exact .5 tie (Q8_0/Q8_1);
    // for Q8_K the largest |x| is -127, so iscale = 1 and ties stay ties.
    std::vector<float> v(n);
    for (int i = 0; i < n; ++i) v[i] = static_cast<float>(rng.below(253) - 126) + 0.5f;
    for (int b = 0; b < n; b += 32) v[b + rng.below(32)] = (b % 256 == 0) ? -127.0f : 127.0f;
    for (int b = 0; b < n; b += 256) v[b + 7] = -127.0f;
    out.emplace_back("halves", v);
  }
  {
    // +m and -m both present: Q8_K takes the sign of the first one.
    std::vector<float> v = test::random_floats(rng, n);
    for (int b = 0; b < n; b += 256) {
      v[b + 3 + rng.below(100)] = (b / 256) % 2 ? 9.0f : -9.0f;
      v[b + 150 + rng.below(100)] = (b / 256) % 2 ? -9.0f : 9.0f;
    }
    out.emplace_back("tied max", v);
  }
  {
    // One non-zero per block, negative zeros elsewhere.
    std::vector<float> v(n, -0.0f);
    for (int b = 0; b < n; b += 32) v[b + rng.below(32)] = rng.uniform(-3.0f, 3.0f);
    out.emplace_back("sparse", v);
  }
  {
    // Non-finite values: NaN and +-inf in some blocks, the rest normal.
    std::vector<float> v = test::random_floats(rng, n);
    v[5] = std::numeric_limits<float>::quiet_NaN();
    v[300] = std::numeric_limits<float>::infinity();
    v[600] = -std::numeric_limits<float>::infinity();
    v[601] = std::numeric_limits<float>::quiet_NaN();
    for (int j = 768; j < n; ++j) v[j] = std::numeric_limits<float>::quiet_NaN();
    out.emplace_back("non-finite", v);
  }
  return out;
}

class QuantizeQ8Avx2 : public ::testing::TestWithParam<QuantCase> {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  }
};

TEST_P(QuantizeQ8Avx2, BitIdenticalToReference) {
  const QuantCase& c = GetParam();
  const TypeTraits& tt = type_traits(c.type);
  for (const auto& [what, x] : tricky_inputs()) {
    const int64_t n = static_cast<int64_t>(x.size());
    // Pre-fill differently so untouched bytes would show up as a mismatch.
    std::vector<uint8_t> want(row_bytes(tt, n), 0xAA), got(row_bytes(tt, n), 0x55);
    tt.from_float(x.data(), want.data(), n);
    c.avx2(x.data(), got.data(), n);
    size_t first_diff = 0;
    while (first_diff < want.size() && want[first_diff] == got[first_diff]) ++first_diff;
    EXPECT_EQ(first_diff, want.size())
        << c.name << " on '" << what << "': first differing byte " << first_diff << " of block "
        << first_diff / tt.block_bytes;
  }
}

TEST_P(QuantizeQ8Avx2, RandomRowsBitIdentical) {
  const QuantCase& c = GetParam();
  const TypeTraits& tt = type_traits(c.type);
  Rng rng(2024);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t n = 256 * (1 + rng.below(16));
    const float scale = std::pow(10.0f, rng.uniform(-6.0f, 6.0f));
    std::vector<float> x = test::random_floats(rng, n, scale);
    std::vector<uint8_t> want(row_bytes(tt, n)), got(row_bytes(tt, n));
    tt.from_float(x.data(), want.data(), n);
    c.avx2(x.data(), got.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size()))
        << c.name << " trial " << trial << " n=" << n << " scale=" << scale;
  }
}

// Q8_0's rounding over (nearly) every float it can meet: with one element
// of 127 per block the scale is exactly 1, so each other element x is
// rounded as is. Every 61st float of [0, 127], both signs, plus each half
// n + 0.5, its neighbours, and 0.49999997f (where trunc(|x| + 0.5) fails).
TEST(QuantizeQ8_0Avx2, RoundsEveryFloatOfTheRangeLikeRoundf) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  std::vector<float> vals;
  uint32_t top;
  const float f127 = 127.0f;
  std::memcpy(&top, &f127, sizeof top);
  for (uint32_t b = 0; b <= top; b += 61) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    vals.push_back(f);
  }
  for (int n = 0; n < 127; ++n) {
    const float h = static_cast<float>(n) + 0.5f;
    vals.insert(vals.end(), {h, std::nextafter(h, 0.0f), std::nextafter(h, 200.0f)});
  }
  vals.push_back(0.49999997f);
  // Blocks of [+-127, 31 values], the values with alternating signs.
  std::vector<float> x;
  for (size_t i = 0; i < vals.size(); ++i) {
    if (i % 31 == 0) x.push_back((i / 31) % 2 ? -127.0f : 127.0f);
    x.push_back(i % 2 ? -vals[i] : vals[i]);
  }
  while (x.size() % 32 != 0) x.push_back(0.0f);
  const TypeTraits& tt = type_traits(DType::Q8_0);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> want(row_bytes(tt, n)), got(row_bytes(tt, n));
  tt.from_float(x.data(), want.data(), n);
  quantize_row_q8_0_avx2(x.data(), got.data(), n);
  size_t first_diff = 0;
  while (first_diff < want.size() && want[first_diff] == got[first_diff]) ++first_diff;
  EXPECT_EQ(first_diff, want.size()) << "block " << first_diff / tt.block_bytes;
}

INSTANTIATE_TEST_SUITE_P(AllActivationTypes, QuantizeQ8Avx2, ::testing::ValuesIn(kQuantCases),
                         [](const ::testing::TestParamInfo<QuantCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace kestrel
