// Packed (row-interleaved) weights and their tile kernels, against the
// scalar oracles:
//  - pack_tile / unpack_tile round-trip every byte;
//  - each AVX2 activation conversion writes the bytes of its scalar
//    prepare_ref (the reference quantizer plus a reshuffle);
//  - each tile kernel of every ISA level the CPU runs (kernel_registry.h),
//    on 1-3 tiles, for 1..13 activation rows (the remainders of its 4-, 6- or
//    8-row groups) and with/without accumulation, returns exactly
//    vec_dot_*_ref of the original rows for the quantized formats (bit for
//    bit: same integer block sums, same per-block float order), and agrees
//    to f32 rounding for f16, on realistic data and on random / extreme
//    block bytes (all-max nibbles, -128 activations, large scales);
//  - matmul()/matmul_group() on a packed matrix whose row count is not a
//    multiple of 8 (so the tail rows take vec_dot), with several tokens, a
//    fused residual add and the SwiGLU epilogue, equal the scalar path.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/kernel_registry.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/packed.h"

namespace kestrel {
namespace {

using test::Fill;
using test::Rng;

const DType kPackedTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::F16, DType::BF16};

std::string type_name(DType t) { return std::string(type_traits(t).name); }

class PackedKernels : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
    fmt_ = find_packed_format(GetParam());
    ASSERT_NE(fmt_, nullptr);
  }
  const TypeTraits& wt() const { return type_traits(GetParam()); }
  const TypeTraits& at() const { return type_traits(wt().vec_dot_type); }
  // Sizes: one block, a few, and a model-like row.
  std::vector<int64_t> sizes() const {
    const int64_t b = fmt_->act_block == 1 ? 32 : wt().block_size;
    return {b, 3 * b, 2048};
  }
  const PackedFormat* fmt_ = nullptr;
};

// 8 weight rows: realistic (quantized normal floats) or raw random bytes.
std::vector<uint8_t> make_rows(Rng& rng, DType t, int64_t n, int mode) {
  const TypeTraits& tt = type_traits(t);
  std::vector<uint8_t> rows;
  for (int r = 0; r < kPackRows; ++r) {
    std::vector<uint8_t> row;
    if (mode == 0 || !tt.is_quantized) {
      const auto f = test::random_floats(rng, n, mode == 0 ? 1.0f : 50.0f);
      row.resize(row_bytes(tt, n));
      tt.from_float(f.data(), row.data(), n);
    } else {
      const Fill fills[] = {Fill::Random, Fill::AllMax, Fill::AllMin, Fill::Int8Min};
      row = test::random_row(rng, t, n, fills[(mode + r) % 4], mode % 2 == 0);
    }
    rows.insert(rows.end(), row.begin(), row.end());
  }
  return rows;
}

// The kernel's activation rows derived from one vec_dot_type row (so both
// sides see the same quants, also for extreme bytes no quantizer makes).
std::vector<uint8_t> prepared_from(const PackedFormat& f, DType at, const uint8_t* a, int64_t n) {
  std::vector<uint8_t> out(packed_act_row_bytes(f, n), 0);
  if (at == DType::Q8_0) {
    for (int64_t b = 0; b < n / 32; ++b) {
      const auto* blk = reinterpret_cast<const BlockQ8_0*>(a) + b;
      if (f.act_block_bytes == sizeof(ActQ8_0Sum)) {
        auto* o = reinterpret_cast<ActQ8_0Sum*>(out.data()) + b;
        o->d = fp16_to_fp32(blk->d);
        o->sum8 = 0;
        for (int j = 0; j < 32; ++j) o->sum8 += 8 * blk->qs[j];
        std::memcpy(o->qs, blk->qs, 32);
      } else {
        auto* o = reinterpret_cast<ActQ8_0Wide*>(out.data()) + b;
        o->d = fp16_to_fp32(blk->d);
        for (int j = 0; j < 32; ++j) o->qs[j] = blk->qs[j];
      }
    }
  } else if (at == DType::Q8_1) {
    for (int64_t b = 0; b < n / 32; ++b) {
      const auto* blk = reinterpret_cast<const BlockQ8_1*>(a) + b;
      auto* o = reinterpret_cast<ActQ8_1F*>(out.data()) + b;
      o->d = fp16_to_fp32(blk->d);
      o->s = fp16_to_fp32(blk->s);
      std::memcpy(o->qs, blk->qs, 32);
    }
  } else if (at == DType::F16) {
    for (int64_t i = 0; i < n; ++i) reinterpret_cast<float*>(out.data())[i] = fp16_to_fp32(reinterpret_cast<const uint16_t*>(a)[i]);
  } else if (at == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) reinterpret_cast<float*>(out.data())[i] = bf16_to_fp32(reinterpret_cast<const uint16_t*>(a)[i]);
  } else {
    std::memcpy(out.data(), a, row_bytes(type_traits(at), n));
  }
  return out;
}

TEST_P(PackedKernels, PackUnpackRoundTrips) {
  Rng rng(11);
  for (int64_t n : sizes()) {
    const auto rows = make_rows(rng, GetParam(), n, 1);
    const size_t rb = row_bytes(wt(), n);
    std::vector<uint8_t> tile(rows.size()), back(rows.size());
    fmt_->pack_tile(rows.data(), rb, n, tile.data());
    EXPECT_NE(tile, rows) << "n " << n << ": packing should rearrange bytes";
    fmt_->unpack_tile(tile.data(), n, back.data(), rb);
    ASSERT_EQ(back, rows) << "n " << n;
  }
}

TEST_P(PackedKernels, Avx2ActivationConversionMatchesReference) {
  Rng rng(12);
  for (int64_t n : sizes()) {
    for (float scale : {0.0f, 1e-30f, 1.0f, 1e4f}) {
      auto x = test::random_floats(rng, n, scale);
      if (n >= 64) x[5] = -x[3];  // ties in |x|
      std::vector<uint8_t> want(packed_act_row_bytes(*fmt_, n), 0), got(want.size(), 0);
      fmt_->prepare_ref(x.data(), want.data(), n);
      fmt_->prepare(x.data(), got.data(), n);
      ASSERT_EQ(got, want) << "n " << n << " scale " << scale;
    }
  }
}

// The bf16 rounding of bf16x8's activations: ties to even, NaN kept quiet,
// infinities and denormals, on bit patterns spread over all 2^32 (a stride
// of 65521) plus every low half of one high half (the tie 0x8000 included).
TEST(PackedActivations, Bf16RoundingMatchesScalarOnSpreadBitPatterns) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  const PackedFormat* f = find_packed_format(DType::BF16);
  ASSERT_NE(f, nullptr);
  std::vector<float> x;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 65521) x.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
  for (uint32_t lo = 0; lo < 0x10000; ++lo) x.push_back(std::bit_cast<float>(0x3f810000u | lo));
  for (uint32_t b : {0x7f800000u, 0xff800000u, 0x7f800001u, 0xffc00000u, 0x7f7fffffu, 0x00008000u, 0x80018000u}) {
    x.push_back(std::bit_cast<float>(b));
  }
  while (x.size() % 8 != 3) x.push_back(1.0f);  // a scalar tail too
  std::vector<float> want(x.size()), got(x.size());
  f->prepare_ref(x.data(), want.data(), static_cast<int64_t>(x.size()));
  f->prepare(x.data(), got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i])) << "input bits " << std::hex
                                                                               << std::bit_cast<uint32_t>(x[i]);
  }
}

// The ISA levels this CPU runs that provide their own kernel for t (a level
// that falls back runs the lower level's kernel, tested there).
std::vector<const PackedGemmEntry*> own_kernels(DType t) {
  std::vector<const PackedGemmEntry*> out;
  for (int l = 1; l < kIsaCount; ++l) {
    const Isa isa = static_cast<Isa>(l);
    if (!cpu_supports(isa)) continue;
    for (const PackedGemmEntry& e : packed_gemms(isa)) {
      if (e.weight_type == t) out.push_back(&e);
    }
  }
  return out;
}

// Every level's kernel on 1, 2 and 3 tiles (tile pairs and an odd tile
// for the levels that work on pairs) against the oracle on each row.
TEST_P(PackedKernels, TileKernelMatchesOracleOnEveryIsa) {
  const bool exact = wt().is_quantized;
  const auto kernels = own_kernels(GetParam());
  ASSERT_FALSE(kernels.empty()) << "the avx2 level has every packed format";
  Rng rng(13);
  constexpr int kTiles = 3;
  for (const PackedGemmEntry* e : kernels) {
    SCOPED_TRACE(std::string(isa_name(e->isa)));
    for (int64_t n : sizes()) {
      for (int mode = 0; mode < 4; ++mode) {
        const size_t rb = row_bytes(wt(), n);
        std::vector<uint8_t> rows, tiles(rb * kPackRows * kTiles);
        for (int k = 0; k < kTiles; ++k) {
          const auto r = make_rows(rng, GetParam(), n, mode);
          fmt_->pack_tile(r.data(), rb, n, tiles.data() + k * rb * kPackRows);
          rows.insert(rows.end(), r.begin(), r.end());
        }
        constexpr int kActs = 13;  // every remainder of the 4-, 6- and 8-row groups
        const size_t arb = row_bytes(at(), n);
        const size_t stride = packed_act_row_bytes(*fmt_, n);
        std::vector<uint8_t> acts(arb * kActs), prepared(stride * kActs);
        for (int t = 0; t < kActs; ++t) {
          uint8_t* a = acts.data() + t * arb;
          if (mode == 0 || !wt().is_quantized) {
            const auto f = test::random_floats(rng, n, 3.0f);
            at().from_float(f.data(), a, n);
          } else {
            const Fill fills[] = {Fill::Random, Fill::Int8Min, Fill::AllMax};
            const auto r = test::random_row(rng, at().type, n, fills[(t + mode) % 3], mode == 2);
            std::memcpy(a, r.data(), arb);
          }
          const auto p = prepared_from(*fmt_, at().type, a, n);
          std::memcpy(prepared.data() + t * stride, p.data(), stride);
        }
        for (int n_tiles = 1; n_tiles <= kTiles; ++n_tiles) {
          for (int n_act : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}) {
            for (bool accumulate : {false, true}) {
              const int64_t ldy = 8 * n_tiles + 3;
              std::vector<float> y(static_cast<size_t>(ldy * n_act), 0.5f);
              e->gemm(n, tiles.data(), n_tiles, rb * kPackRows, prepared.data(), stride, n_act, y.data(), ldy,
                      accumulate);
              for (int t = 0; t < n_act; ++t) {
                for (int r = 0; r < kPackRows * n_tiles; ++r) {
                  const uint8_t* wrow = rows.data() + r * rb;
                  const uint8_t* a = acts.data() + t * arb;
                  const float dot = wt().vec_dot_ref(static_cast<int>(n), wrow, a);
                  const float want = accumulate ? 0.5f + dot : dot;
                  const float got = y[static_cast<size_t>(t * ldy + r)];
                  const std::string what = "n " + std::to_string(n) + " mode " + std::to_string(mode) + " tiles " +
                                           std::to_string(n_tiles) + " n_act " + std::to_string(n_act) + " row " +
                                           std::to_string(r) + " act " + std::to_string(t) + (accumulate ? " +=" : "");
                  if (exact) {
                    ASSERT_EQ(got, want) << what;
                  } else {
                    ASSERT_NEAR(got, want, 1e-5 * (test::abs_dot(GetParam(), wrow, at().type, a, n) + 1.0)) << what;
                  }
                }
                EXPECT_EQ(y[static_cast<size_t>(t * ldy + kPackRows * n_tiles)], 0.5f) << "wrote past the tiles";
              }
            }
          }
        }
      }
    }
  }
}

// Levels fall back visibly: the active level's entry says who serves it.
TEST(KernelRegistry, MissingEntriesFallBackToTheNextLowerLevel) {
  for (DType t : kPackedTypes) {
    EXPECT_EQ(find_packed_gemm(t, Isa::Scalar), nullptr) << "scalar runs the vec_dot oracles";
    if (!cpu_supports(Isa::Avx2)) continue;
    const PackedGemmEntry* base = find_packed_gemm(t, Isa::Avx2);
    ASSERT_NE(base, nullptr) << type_name(t);
    EXPECT_EQ(base->isa, Isa::Avx2);
    for (Isa isa : {Isa::AvxVnni, Isa::Avx512}) {
      const PackedGemmEntry* e = find_packed_gemm(t, isa);
      ASSERT_NE(e, nullptr);
      EXPECT_LE(static_cast<int>(e->isa), static_cast<int>(isa));
      EXPECT_TRUE(cpu_supports(e->isa));
    }
  }
  if (cpu_supports(Isa::Avx512)) {
    EXPECT_EQ(find_packed_gemm(DType::Q4_0, Isa::Avx512)->isa, Isa::Avx512);
    EXPECT_EQ(find_packed_gemm(DType::Q3_K, Isa::Avx512)->isa, Isa::Avx2) << "no avx512 q3_K kernel yet";
  }
  EXPECT_EQ(find_packed_gemm(DType::F32, Isa::Avx2), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, PackedKernels, ::testing::ValuesIn(kPackedTypes),
                         [](const auto& info) { return type_name(info.param); });

// Threads packing runs of tiles write the same bytes as one thread.
TEST(PackedMatmul, PackingWithThreadsEqualsOneThread) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  Rng rng(21);
  const TypeTraits& tt = type_traits(DType::Q5_K);
  const int64_t n_in = 512, n_out = 8 * 300 + 5;
  std::vector<uint8_t> data(row_bytes(tt, n_in) * n_out);
  const auto f = test::random_floats(rng, n_in * n_out, 1.0f);
  for (int64_t r = 0; r < n_out; ++r) tt.from_float(f.data() + r * n_in, data.data() + r * row_bytes(tt, n_in), n_in);
  WeightMatrix one{&tt, data.data(), n_in, n_out, "w"}, three = one;
  const PackedBuffer a = pack_weight_matrix(one, 1), b = pack_weight_matrix(three, 3);
  ASSERT_EQ(a.bytes, b.bytes);
  ASSERT_EQ(a.bytes, row_bytes(tt, n_in) * 8 * 300);
  EXPECT_EQ(std::memcmp(a.data.get(), b.data.get(), a.bytes), 0);
}

// A whole matrix product: packed tiles plus vec_dot tail rows, threads,
// groups, accumulate and SwiGLU, against KernelPath::Scalar. One token and
// 13 (the f16 panel path too) share the rows out with for_ranges; 1100
// Q4_0 tokens need two L2 token blocks, the guided-chunk path.
TEST(PackedMatmul, GroupsAndEpiloguesMatchScalarPath) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  Rng rng(14);
  ThreadPool pool(2);
  std::vector<std::pair<DType, int64_t>> cases;
  for (DType t : kPackedTypes) {
    cases.emplace_back(t, 1);
    cases.emplace_back(t, 13);
  }
  cases.emplace_back(DType::Q4_0, 1100);
  for (const auto& [t, n_tok] : cases) {
    const TypeTraits& tt = type_traits(t);
    const int64_t n_in = 512, n_out = 8 * 5 + 3;
    std::vector<std::vector<uint8_t>> data;
    std::vector<WeightMatrix> ws;
    std::vector<PackedBuffer> bufs;
    for (int m = 0; m < 2; ++m) {
      data.push_back(std::vector<uint8_t>(row_bytes(tt, n_in) * n_out));
      const auto f = test::random_floats(rng, n_in * n_out, 0.1f);
      for (int64_t r = 0; r < n_out; ++r) tt.from_float(f.data() + r * n_in, data.back().data() + r * row_bytes(tt, n_in), n_in);
    }
    for (int m = 0; m < 2; ++m) ws.push_back(WeightMatrix{&tt, data[static_cast<size_t>(m)].data(), n_in, n_out, "w"});
    for (auto& w : ws) bufs.push_back(pack_weight_matrix(w));
    ASSERT_NE(ws[0].packed, nullptr) << tt.name;
    const auto x = test::random_floats(rng, n_in * n_tok);
    std::vector<uint8_t> scratch(matmul_scratch_bytes({&ws[0], &ws[1]}, n_tok));
    auto run = [&](KernelPath path, Epilogue ep, bool accumulate) {
      std::vector<float> y0(static_cast<size_t>(n_out * n_tok), 0.25f), y1 = y0;
      const MatmulOp ops[] = {{&ws[0], y0.data(), n_out, accumulate}, {&ws[1], y1.data(), n_out, accumulate}};
      matmul_group(ops, x.data(), n_tok, scratch.data(), pool, path, ep);
      y0.insert(y0.end(), y1.begin(), y1.end());
      return y0;
    };
    for (Epilogue ep : {Epilogue::None, Epilogue::SwiGLU}) {
      for (bool accumulate : {false, true}) {
        if (ep == Epilogue::SwiGLU && accumulate) continue;
        const auto fast = run(KernelPath::Auto, ep, accumulate);
        const auto ref = run(KernelPath::Scalar, ep, accumulate);
        for (size_t i = 0; i < ref.size(); ++i) {
          const std::string what = std::string(tt.name) + " tokens " + std::to_string(n_tok) + " element " +
                                   std::to_string(i) +
                                   (ep == Epilogue::SwiGLU ? " swiglu" : "") + (accumulate ? " +=" : "");
          if (tt.is_quantized) {
            ASSERT_EQ(fast[i], ref[i]) << what;
          } else {
            ASSERT_NEAR(fast[i], ref[i], 1e-4 * (std::fabs(ref[i]) + 1.0f)) << what;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kestrel
