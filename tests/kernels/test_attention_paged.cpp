// Paged attention (kernels/attention.h) against its contracts:
//  - the f16 store puts every key and value where the page layout says, and
//    the slot copy moves exactly one position;
//  - the AVX2 task gives the scalar oracle's bits, for MHA/GQA/MQA groups,
//    head sizes 32..128, prefill blocks with and without earlier context,
//    decode at depth across several segments (split rows merged), scores
//    spread wide enough to reach exp_softmax's edge cases, several runs in
//    one batch over shuffled page tables, and 1 or 2 threads;
//  - both agree with a plain double-precision softmax attention over the
//    same f16 values within rounding (catches any indexing error);
//  - batch invariance: a row's output is bit-identical whether its run is
//    alone, among other runs, a prefill or a single decode token;
//  - candidate-tree masks give every branch the result of its own linear
//    sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/attention.h"

namespace kestrel {
namespace {

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// One layer's pages in plain memory, and sequences with shuffled page
// tables whose keys and values are random.
struct Cache {
  AttentionShape sh;
  int page_slots;
  std::vector<uint8_t> mem;
  KvPages kv;
  Cache(const AttentionShape& s, int n_pages, int P = 64) : sh(s), page_slots(P) {
    // Page-major here (page p's heads together), unlike the engine's
    // head-major cache: the kernels must not care.
    const size_t block = f16_block_bytes(P, s.head_dim);
    mem.assign(2 * block * static_cast<size_t>(s.n_head_kv) * static_cast<size_t>(n_pages), 0);
    kv.k = mem.data();
    kv.v = mem.data() + block;
    kv.k_page = kv.v_page = 2 * block * static_cast<size_t>(s.n_head_kv);
    kv.k_head = kv.v_head = 2 * block;
    kv.page_slots = P;
  }
  int64_t kv_dim() const { return static_cast<int64_t>(sh.n_head_kv) * sh.head_dim; }
};

struct Seq {
  std::vector<int32_t> pages;
  std::vector<float> k, v;  // f32 rows as stored, [slot][kv_dim]
};

// A sequence of n slots on pages taken from `order` (consumed from the back).
Seq make_seq(Cache& c, std::vector<int32_t>& order, int64_t n, test::Rng& rng, float k_scale = 2.0f) {
  Seq s;
  const int64_t n_pages = (n + c.page_slots - 1) / c.page_slots;
  for (int64_t i = 0; i < n_pages; ++i) {
    s.pages.push_back(order.back());
    order.pop_back();
  }
  s.k = test::random_floats(rng, n * c.kv_dim(), k_scale);
  s.v = test::random_floats(rng, n * c.kv_dim());
  for (int64_t t = 0; t < n; ++t) {
    attention_store_f16(c.kv, s.pages.data(), t, c.sh.n_head_kv, c.sh.head_dim, s.k.data() + t * c.kv_dim(),
                        s.v.data() + t * c.kv_dim());
  }
  return s;
}

std::vector<int32_t> shuffled_pages(int n, test::Rng& rng) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(rng.below(i + 1))]);
  return p;
}

std::vector<float> run_attention(const Cache& c, std::span<const AttentionRun> runs, const std::vector<float>& q,
                                 int64_t n_rows, AttentionTaskFn task, int threads) {
  const int64_t qd = static_cast<int64_t>(c.sh.n_head) * c.sh.head_dim;
  std::vector<float> out(static_cast<size_t>(qd * n_rows), -7.0f);
  AttentionBatch b;
  b.q = q.data();
  b.q_stride = qd;
  b.out = out.data();
  b.out_stride = qd;
  b.shape = c.sh;
  b.scale = 1.0f / std::sqrt(static_cast<float>(c.sh.head_dim));
  b.kv = c.kv;
  b.runs = runs;
  int64_t max_slot = 1;
  for (const AttentionRun& r : runs) max_slot = std::max(max_slot, r.last_slot() + 1);
  ThreadPool pool(threads);
  AttentionWorkspace ws(c.sh, n_rows, max_slot, threads);
  attention_paged(b, ws, pool, task);
  return out;
}

// softmax(q K^T / sqrt(hd)) V in double over the f16 values attention
// sees (query rounded to f16), for row i of a causal run.
void reference_row(const Cache& c, const Seq& s, const float* q, int64_t slot, std::span<const int64_t> visible,
                   float* out) {
  const int hd = c.sh.head_dim, group = c.sh.group();
  const int64_t kvd = c.kv_dim();
  for (int h = 0; h < c.sh.n_head; ++h) {
    const int kvh = h / group;
    std::vector<double> sc;
    for (int64_t j : visible) {
      double dot = 0;
      for (int d = 0; d < hd; ++d) {
        const double qv = fp16_to_fp32(fp32_to_fp16(q[h * hd + d]));
        dot += qv * fp16_to_fp32(fp32_to_fp16(s.k[static_cast<size_t>(j * kvd + kvh * hd + d)]));
      }
      sc.push_back(dot / std::sqrt(static_cast<double>(hd)));
    }
    const double mx = *std::max_element(sc.begin(), sc.end());
    double sum = 0;
    for (double& x : sc) sum += (x = std::exp(x - mx));
    for (int d = 0; d < hd; ++d) {
      double o = 0;
      for (size_t k = 0; k < visible.size(); ++k) {
        o += sc[k] / sum * fp16_to_fp32(fp32_to_fp16(s.v[static_cast<size_t>(visible[k] * kvd + kvh * hd + d)]));
      }
      out[h * hd + d] = static_cast<float>(o);
    }
  }
  (void)slot;
}

TEST(AttentionPaged, StoreAndCopyFollowThePageLayout) {
  const AttentionShape sh{8, 2, 40};
  Cache c(sh, 4, 16);
  test::Rng rng(3);
  std::vector<int32_t> order = {2, 0, 3, 1};
  const Seq s = make_seq(c, order, 40, rng);
  for (int64_t t = 0; t < 40; ++t) {
    const int32_t page = s.pages[static_cast<size_t>(t / 16)];
    for (int h = 0; h < 2; ++h) {
      for (int d = 0; d < 40; ++d) {
        const size_t src = static_cast<size_t>(t * c.kv_dim() + h * 40 + d);
        ASSERT_EQ(f16_keys(c.kv, page, h)[f16_key_index(t % 16, d, 40)], fp32_to_fp16(s.k[src]));
        ASSERT_EQ(f16_values(c.kv, page, h)[(t % 16) * 40 + d], fp32_to_fp16(s.v[src]));
      }
    }
  }
  const std::vector<uint8_t> before = c.mem;
  attention_copy_slot_f16(c.kv, s.pages.data(), 37, s.pages.data(), 5, 2, 40);
  for (int h = 0; h < 2; ++h) {
    for (int d = 0; d < 40; ++d) {
      EXPECT_EQ(f16_keys(c.kv, s.pages[0], h)[f16_key_index(5, d, 40)],
                f16_keys(c.kv, s.pages[2], h)[f16_key_index(37 % 16, d, 40)]);
      EXPECT_EQ(f16_values(c.kv, s.pages[0], h)[5 * 40 + d], f16_values(c.kv, s.pages[2], h)[(37 % 16) * 40 + d]);
    }
  }
  // Nothing but slot 5 changed.
  size_t changed = 0;
  for (size_t i = 0; i < before.size(); ++i) changed += before[i] != c.mem[i];
  EXPECT_LE(changed, static_cast<size_t>(2 * 2 * 40 * 2));
}

struct PagedCase {
  int n_head, n_head_kv, head_dim;
  int64_t slot0, n_rows;
  float k_scale = 2.0f;
};

const PagedCase kCases[] = {
    {8, 4, 32, 0, 17},     // GQA 2, prefill from an empty cache
    {32, 8, 64, 0, 70},    // llama-3.2-1b heads, several token blocks
    {32, 8, 64, 300, 1},   // decode at depth, one segment
    {32, 8, 64, 1500, 1},  // decode across three segments: split and merged
    {32, 4, 64, 1000, 1},  // GQA 8: two groups of 4 rows per token
    {32, 4, 64, 490, 40},  // a prefill block straddling the first segment boundary
    {4, 4, 128, 5, 3},     // MHA, wide heads
    {8, 1, 40, 13, 6},     // MQA, head_dim not a multiple of 16
    {14, 2, 64, 600, 5},   // qwen2.5-0.5b heads (GQA 7)
    // Scores spread over hundreds: softmax steps with lanes 87 or more
    // below the row's max take exp_softmax's edge cases (exp -> 0).
    {32, 8, 64, 300, 2, 60.0f},
};

class AvxAttention : public ::testing::TestWithParam<PagedCase> {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
  }
};

TEST_P(AvxAttention, MatchesScalarBitForBitAndDoublePrecisionClosely) {
  const PagedCase& pc = GetParam();
  const AttentionShape sh{pc.n_head, pc.n_head_kv, pc.head_dim};
  test::Rng rng(77 + pc.slot0);
  Cache c(sh, 64);
  auto order = shuffled_pages(64, rng);
  // Two sequences in one batch: the case's run, and a short decode of
  // another sequence before it.
  const Seq other = make_seq(c, order, 70, rng, pc.k_scale);
  const Seq s = make_seq(c, order, pc.slot0 + pc.n_rows, rng, pc.k_scale);
  const int64_t qd = static_cast<int64_t>(pc.n_head) * pc.head_dim;
  const int64_t n_rows = 1 + pc.n_rows;
  const auto q = test::random_floats(rng, qd * n_rows, 2.0f);
  std::vector<AttentionRun> runs(2);
  runs[0] = {other.pages.data(), 0, 1, 69};
  runs[1] = {s.pages.data(), 1, pc.n_rows, pc.slot0};
  const auto want = run_attention(c, runs, q, n_rows, attention_task_f16_ref, 2);
  const auto got = run_attention(c, runs, q, n_rows, attention_task_f16_avx2, 2);
  const auto got1 = run_attention(c, runs, q, n_rows, attention_task_f16_avx2, 1);
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(bits(got[i]), bits(want[i])) << "element " << i << ": " << got[i] << " vs " << want[i];
    ASSERT_EQ(bits(got1[i]), bits(want[i])) << "one thread, element " << i;
  }
  // Against double precision, for the first, a middle and the last row.
  std::vector<float> ref(static_cast<size_t>(qd));
  for (int64_t i : {int64_t{0}, pc.n_rows / 2, pc.n_rows - 1}) {
    std::vector<int64_t> visible(static_cast<size_t>(pc.slot0 + i + 1));
    std::iota(visible.begin(), visible.end(), 0);
    reference_row(c, s, q.data() + (1 + i) * qd, pc.slot0 + i, visible, ref.data());
    for (int64_t e = 0; e < qd; ++e) {
      ASSERT_NEAR(want[static_cast<size_t>((1 + i) * qd + e)], ref[static_cast<size_t>(e)], 4e-3) << "row " << i << " element " << e;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AvxAttention, ::testing::ValuesIn(kCases));

// The scalar oracle on its own against double precision (runs without AVX2).
TEST(AttentionPaged, ScalarOracleMatchesDoublePrecision) {
  const AttentionShape sh{8, 2, 32};
  test::Rng rng(5);
  Cache c(sh, 32, 32);
  auto order = shuffled_pages(32, rng);
  const Seq s = make_seq(c, order, 700, rng);
  const int64_t qd = 8 * 32;
  const auto q = test::random_floats(rng, qd * 3, 2.0f);
  const AttentionRun run{s.pages.data(), 0, 3, 697};
  const auto got = run_attention(c, {&run, 1}, q, 3, attention_task_f16_ref, 2);
  std::vector<float> ref(static_cast<size_t>(qd));
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<int64_t> visible(static_cast<size_t>(697 + i + 1));
    std::iota(visible.begin(), visible.end(), 0);
    reference_row(c, s, q.data() + i * qd, 697 + i, visible, ref.data());
    for (int64_t e = 0; e < qd; ++e) ASSERT_NEAR(got[static_cast<size_t>(i * qd + e)], ref[static_cast<size_t>(e)], 4e-3);
  }
}

// Row results do not depend on the batch: a prefill of 40 tokens from slot
// 500 (rows on both sides of a segment boundary) equals, row for row and
// bit for bit, each token decoded alone, and alone among other runs.
TEST(AttentionPaged, RowsAreIndependentOfTheBatch) {
  const AttentionShape sh{32, 8, 64};
  test::Rng rng(11);
  Cache c(sh, 64);
  auto order = shuffled_pages(64, rng);
  const Seq s = make_seq(c, order, 540, rng);
  const Seq other = make_seq(c, order, 300, rng);
  const int64_t qd = 32 * 64;
  const auto q = test::random_floats(rng, qd * 40, 2.0f);
  const AttentionTaskFn task = use_avx2() ? attention_task_f16_avx2 : attention_task_f16_ref;
  const AttentionRun prefill{s.pages.data(), 0, 40, 500};
  const auto all = run_attention(c, {&prefill, 1}, q, 40, task, 2);
  for (int64_t i = 0; i < 40; i += 3) {
    std::vector<float> q1(q.begin() + i * qd, q.begin() + (i + 1) * qd);
    const AttentionRun alone{s.pages.data(), 0, 1, 500 + i};
    const auto one = run_attention(c, {&alone, 1}, q1, 1, task, 2);
    // Among others: another sequence's prefill before it.
    std::vector<float> q3 = test::random_floats(rng, qd * 6, 2.0f);
    std::copy(q1.begin(), q1.end(), q3.begin() + 5 * qd);
    const AttentionRun mixed[2] = {{other.pages.data(), 0, 5, 295}, {s.pages.data(), 5, 1, 500 + i}};
    const auto among = run_attention(c, mixed, q3, 6, task, 1);
    for (int64_t e = 0; e < qd; ++e) {
      ASSERT_EQ(bits(one[static_cast<size_t>(e)]), bits(all[static_cast<size_t>(i * qd + e)])) << "row " << i;
      ASSERT_EQ(bits(among[static_cast<size_t>(5 * qd + e)]), bits(all[static_cast<size_t>(i * qd + e)])) << "row " << i;
    }
  }
}

// A tree of 6 draft tokens after a 530-slot context: root a; children b, c
// of a; d of b; e of d; f of c. Each node must get what a linear sequence
// holding exactly its ancestors (then itself) gives.
TEST(AttentionPaged, TreeMaskGivesEachBranchItsLinearResult) {
  const AttentionShape sh{16, 4, 64};
  test::Rng rng(21);
  Cache c(sh, 64);
  auto order = shuffled_pages(64, rng);
  const int64_t base = 530;
  const Seq tree = make_seq(c, order, base + 6, rng);
  const int parent[6] = {-1, 0, 0, 1, 3, 2};
  const int64_t qd = 16 * 64;
  const auto q = test::random_floats(rng, qd * 6, 2.0f);
  std::vector<uint64_t> mask(6, 0);
  for (int i = 0; i < 6; ++i) {
    for (int a = i; a >= 0; a = parent[a]) mask[static_cast<size_t>(i)] |= uint64_t{1} << a;
  }
  AttentionRun run{tree.pages.data(), 0, 6, base, mask.data(), 1};
  for (AttentionTaskFn task : {attention_task_f16_ref, attention_task_f16_avx2}) {
    if (task == attention_task_f16_avx2 && !cpu_has_avx2()) continue;
    const auto got = run_attention(c, {&run, 1}, q, 6, task, 2);
    for (int i = 0; i < 6; ++i) {
      // The linear sequence: the shared context, then the node's ancestors
      // in order (their keys and values copied), then the node.
      std::vector<int> path;
      for (int a = i; a >= 0; a = parent[a]) path.insert(path.begin(), a);
      Cache lin(sh, 16);
      std::vector<int32_t> lorder = shuffled_pages(16, rng);
      Seq l;
      for (int p = 0; p < 10; ++p) l.pages.push_back(lorder[static_cast<size_t>(p)]);
      for (int64_t t = 0; t < base; ++t) {
        attention_store_f16(lin.kv, l.pages.data(), t, 4, 64, tree.k.data() + t * lin.kv_dim(), tree.v.data() + t * lin.kv_dim());
      }
      for (size_t k = 0; k < path.size(); ++k) {
        const int64_t src = base + path[k];
        attention_store_f16(lin.kv, l.pages.data(), base + static_cast<int64_t>(k), 4, 64,
                            tree.k.data() + src * lin.kv_dim(), tree.v.data() + src * lin.kv_dim());
      }
      std::vector<float> qi(q.begin() + i * qd, q.begin() + (i + 1) * qd);
      const AttentionRun lrun{l.pages.data(), 0, 1, base + static_cast<int64_t>(path.size()) - 1};
      const auto want = run_attention(lin, {&lrun, 1}, qi, 1, task, 2);
      for (int64_t e = 0; e < qd; ++e) {
        // The softmax sum's lanes follow slots, which differ between the
        // two layouts, so the last bit may differ.
        ASSERT_NEAR(got[static_cast<size_t>(i * qd + e)], want[static_cast<size_t>(e)],
                    1e-6f * (1.0f + std::fabs(want[static_cast<size_t>(e)])))
            << "node " << i << " element " << e;
      }
    }
  }
}

}  // namespace
}  // namespace kestrel
