// The sampling passes: exp_for_sampling against std::exp, and the AVX2 table
// against the scalar table bit for bit (the guarantee behind "same seed, same
// tokens with or without AVX2"), on rows that exercise tails shorter than a
// vector or a block, ties, -inf, underflow and NaN. The scalar results are
// also checked against direct definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sampling/kernels.h"
#include "sampling/sampling_math.h"

namespace kestrel::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

TEST(SamplingExp, WithinThreeUlpOfStdExp) {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f * static_cast<float>(i) / 2000000.0f;
    const double want = std::exp(static_cast<double>(x));
    const double got = exp_for_sampling(x);
    worst = std::max(worst, std::fabs(got - want) / want);
  }
  EXPECT_LT(worst, 3.6e-7);  // 3 ulp of float
  EXPECT_EQ(exp_for_sampling(0.0f), 1.0f);
  EXPECT_EQ(exp_for_sampling(-87.5f), 0.0f);
  EXPECT_EQ(exp_for_sampling(kNegInf), 0.0f);
  EXPECT_EQ(mass_of_logit(3.0f, 3.0f), 1 << 30);
}

struct Row {
  std::string name;
  std::vector<float> x;
};

std::vector<Row> rows() {
  std::vector<Row> out;
  std::mt19937_64 gen(17);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (int n : {1, 5, 8, 63, 64, 65, 200, 1000, 32013}) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = g(gen);
    out.push_back({"gauss" + std::to_string(n), v});
    // Coarse values: many exact ties.
    std::vector<float> t = v;
    for (float& x : t) x = std::round(x);
    out.push_back({"ties" + std::to_string(n), t});
    // Every fourth value -inf.
    std::vector<float> h = v;
    for (size_t i = 0; i < h.size(); i += 4) h[i] = kNegInf;
    if (n > 1) out.push_back({"holes" + std::to_string(n), h});
  }
  std::vector<float> wide(3000);
  for (size_t i = 0; i < wide.size(); ++i) wide[i] = -0.04f * static_cast<float>(i);  // down to -120: underflow
  out.push_back({"wide", wide});
  out.push_back({"equal", std::vector<float>(777, 1.5f)});
  return out;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

class KernelsMatch : public ::testing::TestWithParam<Row> {
 protected:
  void SetUp() override {
    if (!kernels_avx2()) GTEST_SKIP() << "CPU without AVX2: only the scalar table exists";
  }
  const Kernels& ref = kernels_scalar();
  const Kernels& simd() { return *kernels_avx2(); }
};

TEST_P(KernelsMatch, ScanAndFiniteRange) {
  const std::vector<float>& x = GetParam().x;
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> b1(n_blocks(n)), b2(n_blocks(n));
  const ScanStats s1 = ref.scan_blocks(x.data(), n, b1.data());
  const ScanStats s2 = simd().scan_blocks(x.data(), n, b2.data());
  EXPECT_EQ(b1, b2);
  EXPECT_EQ(s1.max, s2.max);
  EXPECT_EQ(s1.argmax, s2.argmax);
  EXPECT_FALSE(s1.has_nan || s2.has_nan);
  EXPECT_EQ(s1.argmax, std::max_element(x.begin(), x.end()) - x.begin());
  const FiniteRange f1 = ref.finite_range(x.data(), n), f2 = simd().finite_range(x.data(), n);
  EXPECT_EQ(f1.count, f2.count);
  EXPECT_EQ(f1.min, f2.min);
}

TEST_P(KernelsMatch, CompactCountGather) {
  const std::vector<float>& x = GetParam().x;
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> bmax(n_blocks(n));
  ref.scan_blocks(x.data(), n, bmax.data());
  std::vector<int32_t> ids(x.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(3 * i + 1);
  std::vector<int32_t> m(x.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<int32_t>(i % 1000) * 1000003;
  const float t = x[x.size() / 2];  // a value present in the row (ties in the "ties" rows)
  for (int64_t max_eq : {int64_t{0}, int64_t{1}, int64_t{3}, std::numeric_limits<int64_t>::max()}) {
    for (const int32_t* id : {static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(ids.data())}) {
      std::vector<float> ox1(x.size()), ox2(x.size());
      std::vector<int32_t> oi1(x.size()), oi2(x.size());
      const int64_t c1 = ref.compact_above(x.data(), id, n, bmax.data(), t, max_eq, ox1.data(), oi1.data());
      const int64_t c2 = simd().compact_above(x.data(), id, n, bmax.data(), t, max_eq, ox2.data(), oi2.data());
      ASSERT_EQ(c1, c2);
      ox1.resize(c1), ox2.resize(c2), oi1.resize(c1), oi2.resize(c2);
      EXPECT_EQ(ox1, ox2);
      EXPECT_EQ(oi1, oi2);
      int64_t want = 0, eq = 0;
      for (float v : x) want += v > t || (v == t && eq++ < max_eq);
      EXPECT_EQ(c1, want);
    }
  }
  const float ts[4] = {kNegInf, t - 1.0f, t, t + 0.5f};
  int64_t cn1[4], cn2[4], ms1[4], ms2[4];
  for (int nt = 1; nt <= 4; ++nt) {
    ref.count_above(x.data(), m.data(), n, ts, nt, cn1, ms1);
    simd().count_above(x.data(), m.data(), n, ts, nt, cn2, ms2);
    for (int k = 0; k < nt; ++k) {
      EXPECT_EQ(cn1[k], cn2[k]);
      EXPECT_EQ(ms1[k], ms2[k]);
    }
    simd().count_above(x.data(), nullptr, n, ts, nt, cn2, nullptr);
    for (int k = 0; k < nt; ++k) EXPECT_EQ(cn1[k], cn2[k]);
  }
  std::vector<float> gx1(x.size()), gx2(x.size());
  std::vector<int32_t> gm1(x.size()), gm2(x.size());
  std::vector<int64_t> gp1(x.size()), gp2(x.size());
  const int64_t g1 = ref.gather_range(x.data(), m.data(), n, bmax.data(), t - 1.0f, t, gx1.data(), gm1.data(), gp1.data());
  const int64_t g2 = simd().gather_range(x.data(), m.data(), n, bmax.data(), t - 1.0f, t, gx2.data(), gm2.data(), gp2.data());
  ASSERT_EQ(g1, g2);
  for (int64_t i = 0; i < g1; ++i) {
    EXPECT_EQ(gx1[i], gx2[i]);
    EXPECT_EQ(gm1[i], gm2[i]);
    EXPECT_EQ(gp1[i], gp2[i]);
  }
}

TEST_P(KernelsMatch, SoftmaxPoolsAndDraws) {
  const std::vector<float>& x = GetParam().x;
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> bmax(n_blocks(n));
  const ScanStats st = ref.scan_blocks(x.data(), n, bmax.data());
  for (float temp : {1.0f, 0.7f, 1.9f}) {
    std::vector<int32_t> m1(x.size()), m2(x.size());
    std::vector<float> q1(x.size()), q2(x.size()), s1(bmax.size()), s2(bmax.size());
    double t1 = 0, t2 = 0;
    const int64_t z1 = ref.softmax(x.data(), n, st.max, temp, true, m1.data(), q1.data(), s1.data(), &t1);
    const int64_t z2 = simd().softmax(x.data(), n, st.max, temp, true, m2.data(), q2.data(), s2.data(), &t2);
    EXPECT_EQ(z1, z2);
    EXPECT_TRUE(same_bits(m1, m2));
    EXPECT_TRUE(same_bits(q1, q2));
    EXPECT_TRUE(same_bits(s1, s2));
    EXPECT_EQ(t1, t2);
    int64_t z = 0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(m1[i], mass_of_logit(x[i], st.max));
      ASSERT_EQ(q1[i], weight_at_temp(x[i], st.max, temp));
      z += m1[i];
    }
    EXPECT_EQ(z1, z);
    // The mass-only and weights-only variants give the same numbers.
    EXPECT_EQ(simd().softmax(x.data(), n, st.max, temp, true, nullptr, nullptr, nullptr, nullptr), z1);
    std::vector<float> q3(x.size());
    double t3 = 0;
    simd().softmax(x.data(), n, st.max, temp, false, nullptr, q3.data(), s2.data(), &t3);
    EXPECT_TRUE(same_bits(q1, q3));
    EXPECT_EQ(t1, t3);

    std::mt19937_64 gen(5);
    for (int trial = 0; trial < 20; ++trial) {
      const int64_t j = static_cast<int64_t>(gen() % static_cast<uint64_t>(n));
      const PoolKey a{x[static_cast<size_t>(j)], j};
      const PoolKey b{x[static_cast<size_t>(j)] + 0.5f, trial % 3 == 0 ? n : 0};
      PoolSums ra1, rb1, ra2, rb2;
      ref.pool_sums2(x.data(), m1.data(), q1.data(), n, bmax.data(), a, b, &ra1, &rb1);
      simd().pool_sums2(x.data(), m1.data(), q1.data(), n, bmax.data(), a, b, &ra2, &rb2);
      EXPECT_EQ(ra1.mass, ra2.mass);
      EXPECT_EQ(rb1.mass, rb2.mass);
      EXPECT_EQ(ra1.weight, ra2.weight);
      EXPECT_EQ(rb1.weight, rb2.weight);
      int64_t want = 0;
      for (int64_t i = 0; i < n; ++i) want += ranks_before(x[i], i, a.x, a.pos) ? m1[i] : 0;
      EXPECT_EQ(ra1.mass, want);
      if (temp == 1.0f) {  // masses derived from the weights are the same
        PoolSums da, db;
        simd().pool_sums2(x.data(), nullptr, q1.data(), n, bmax.data(), a, b, &da, &db);
        EXPECT_EQ(da.mass, ra1.mass);
        EXPECT_EQ(db.mass, rb1.mass);
        ref.pool_sums2(x.data(), nullptr, q1.data(), n, bmax.data(), a, b, &da, &db);
        EXPECT_EQ(da.mass, ra1.mass);
      }
      const double target = std::uniform_real_distribution<double>(0, 1)(gen) * ra1.weight;
      double bf1 = -1, bf2 = -2;
      EXPECT_EQ(ref.pool_find_block(x.data(), q1.data(), n, bmax.data(), a, target, &bf1),
                simd().pool_find_block(x.data(), q1.data(), n, bmax.data(), a, target, &bf2));
      EXPECT_EQ(bf1, bf2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, KernelsMatch, ::testing::ValuesIn(rows()),
                         [](const auto& info) { return info.param.name; });

TEST(KernelsNaN, BothTablesFlagNaNAnywhere) {
  for (int64_t n : {5, 64, 100, 1000}) {
    for (int64_t pos : {int64_t{0}, n / 2, n - 1}) {
      std::vector<float> x(static_cast<size_t>(n), 1.0f);
      x[static_cast<size_t>(pos)] = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> bmax(n_blocks(n));
      EXPECT_TRUE(kernels_scalar().scan_blocks(x.data(), n, bmax.data()).has_nan);
      if (kernels_avx2()) {
        EXPECT_TRUE(kernels_avx2()->scan_blocks(x.data(), n, bmax.data()).has_nan) << n << " " << pos;
      }
    }
  }
}

}  // namespace
}  // namespace kestrel::sampling
