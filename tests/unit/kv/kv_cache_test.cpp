// The paged KV cache against a simple model of what it must hold:
//  - churn: thousands of random new / fork / append / truncate / keep /
//    free / prefix-attach operations on a small pool, after each of which
//    every live sequence reads back exactly its tokens and positions
//    through its page table, and the pool's reference counts and free list
//    add up (each page referenced once per sequence mapping it and once if
//    the prefix cache indexes it);
//  - running out of pages is an error that changes nothing;
//  - forks share pages until a write copies the shared one;
//  - the prefix cache maps only whole pages of the same tokens after the
//    same parents, leaves the prompt's last token to compute, and evicts
//    least recently used leaves first.
// The "keys" written are the token id and position, so a page mapped into
// the wrong place or overwritten shows up as a wrong value.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "kv/kv_cache.h"

namespace kestrel {
namespace {

constexpr int kHeadDim = 8;
constexpr int kPage = 16;

KvCacheParams small_params(int64_t n_slots, int max_seqs, bool prefix) {
  KvCacheParams p;
  p.geometry = {2, 1, kHeadDim};
  p.page_slots = kPage;
  p.n_slots = n_slots;
  p.max_seqs = max_seqs;
  p.prefix_cache = prefix;
  return p;
}

// Appends (token, pos) pairs as the engine does: prepare, store, commit.
void append(KvCache& kv, int32_t s, const std::vector<int32_t>& toks, int32_t pos0) {
  kv.prepare_append(s, static_cast<int64_t>(toks.size()));
  std::vector<int32_t> pos(toks.size());
  for (size_t i = 0; i < toks.size(); ++i) pos[i] = pos0 + static_cast<int32_t>(i);
  const int64_t slot0 = kv.seq_length(s);
  for (size_t i = 0; i < toks.size(); ++i) {
    float k[kHeadDim], v[kHeadDim];
    for (int d = 0; d < kHeadDim; ++d) {
      k[d] = static_cast<float>(toks[i]);
      v[d] = static_cast<float>(pos[i]);
    }
    for (int64_t l = 0; l < 2; ++l) kv.format().store(kv.layer(l), kv.page_table(s), slot0 + static_cast<int64_t>(i), 1, kHeadDim, k, v);
  }
  kv.commit_append(s, toks, pos.data());
}

// What slot i of s holds, read through its page table (layer 1).
std::pair<int, int> read_slot(const KvCache& kv, int32_t s, int64_t i) {
  const KvPages L = kv.layer(1);
  const int32_t page = kv.page_table(s)[i / kPage];
  const float k = fp16_to_fp32(f16_keys(L, page, 0)[f16_key_index(i % kPage, kHeadDim - 1, kHeadDim)]);
  const float v = fp16_to_fp32(f16_values(L, page, 0)[(i % kPage) * kHeadDim]);
  return {static_cast<int>(k), static_cast<int>(v)};
}

struct Model {
  std::map<int32_t, std::vector<std::pair<int, int>>> seqs;  // (token, position) per slot
};

void check(const KvCache& kv, const Model& m, int step) {
  SCOPED_TRACE("step " + std::to_string(step));
  std::map<int32_t, int64_t> refs;
  for (const auto& [s, slots] : m.seqs) {
    ASSERT_TRUE(kv.seq_live(s));
    ASSERT_EQ(kv.seq_length(s), static_cast<int64_t>(slots.size()));
    for (size_t i = 0; i < slots.size(); ++i) {
      ASSERT_EQ(read_slot(kv, s, static_cast<int64_t>(i)), slots[i]) << "sequence " << s << " slot " << i;
      ASSERT_EQ(kv.seq_tokens(s)[i], slots[i].first);
      ASSERT_EQ(kv.seq_positions(s)[i], slots[i].second);
    }
    for (int64_t p = 0; p < (kv.seq_length(s) + kPage - 1) / kPage; ++p) ++refs[kv.page_table(s)[p]];
  }
  ASSERT_EQ(kv.n_live(), static_cast<int>(m.seqs.size()));
  // Each page: one reference per sequence mapping it, plus at most one
  // from the prefix cache; unreferenced pages are exactly the free ones.
  int64_t used = 0, cached = 0;
  for (int32_t p = 0; p < kv.n_pages(); ++p) {
    const int64_t r = kv.pool().refs(p), by_seqs = refs.count(p) ? refs[p] : 0;
    ASSERT_TRUE(r == by_seqs || r == by_seqs + 1) << "page " << p << ": " << r << " refs, " << by_seqs << " by sequences";
    cached += r - by_seqs;
    used += r > 0;
  }
  ASSERT_EQ(kv.n_free_pages(), kv.n_pages() - used);
  ASSERT_EQ(cached, kv.prefix_stats().entries);
}

TEST(KvCache, RandomChurnMatchesASimpleModel) {
  KvCache kv(small_params(24 * kPage, 6, true));
  Model m;
  std::mt19937 rng(2);  // (the hit/eviction counts at the end are coverage guards for this seed)
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  auto any_seq = [&]() {
    auto it = m.seqs.begin();
    std::advance(it, pick(static_cast<int>(m.seqs.size())));
    return it->first;
  };
  // Prompts share prefixes: tokens from a small alphabet, often a common start.
  const std::vector<int32_t> common = [&] {
    std::vector<int32_t> c(3 * kPage + 5);
    for (int32_t& t : c) t = pick(5);
    return c;
  }();
  int64_t full_errors = 0, hits_seen = 0;
  for (int step = 0; step < 4000; ++step) {
    const int op = pick(100);
    if (op < 12 && kv.n_live() < kv.max_seqs()) {  // new, maybe from the prefix cache
      const int32_t s = kv.seq_new();
      m.seqs[s] = {};
      if (pick(2) == 0) {
        std::vector<int32_t> prompt(common.begin(), common.begin() + 1 + pick(static_cast<int>(common.size())));
        const int64_t got = kv.attach_prefix(s, prompt);
        ASSERT_EQ(got % kPage, 0);
        ASSERT_LT(got, static_cast<int64_t>(prompt.size()));
        hits_seen += got > 0;
        for (int64_t i = 0; i < got; ++i) m.seqs[s].push_back({prompt[static_cast<size_t>(i)], static_cast<int>(i)});
      }
    } else if (op < 20 && !m.seqs.empty() && kv.n_live() < kv.max_seqs()) {  // fork
      const int32_t src = any_seq();
      const int32_t s = kv.seq_fork(src);
      m.seqs[s] = m.seqs[src];
    } else if (op < 65 && !m.seqs.empty()) {  // append, continuing the common prompt sometimes
      const int32_t s = any_seq();
      auto& slots = m.seqs[s];
      const int n = 1 + pick(pick(3) == 0 ? 60 : 8);
      std::vector<int32_t> toks(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        const size_t at = slots.size() + static_cast<size_t>(i);
        toks[static_cast<size_t>(i)] = at < common.size() && pick(3) ? common[at] : pick(5);
      }
      try {
        append(kv, s, toks, static_cast<int32_t>(slots.size()));
        for (int i = 0; i < n; ++i) slots.push_back({toks[static_cast<size_t>(i)], static_cast<int>(slots.size())});
        kv.publish(s);
      } catch (const Error& e) {
        ++full_errors;  // out of pages or past max_seq_slots: nothing may have changed
        const std::string msg = e.what();
        ASSERT_TRUE(msg.find("KV cache full") != std::string::npos || msg.find("one sequence may hold") != std::string::npos) << msg;
      }
    } else if (op < 72 && !m.seqs.empty()) {  // truncate
      const int32_t s = any_seq();
      const int64_t n = pick(static_cast<int>(m.seqs[s].size()) + 1);
      kv.seq_truncate(s, n);
      m.seqs[s].resize(static_cast<size_t>(n));
    } else if (op < 85 && !m.seqs.empty()) {  // keep: a random ascending subset of the tail
      const int32_t s = any_seq();
      auto& slots = m.seqs[s];
      if (slots.empty()) continue;
      const int64_t base = pick(static_cast<int>(slots.size()));
      // Give the tail tree positions first: slot base + k holds depth k' so
      // that the chosen path has positions base, base + 1, ...
      std::vector<int64_t> keep;
      for (int64_t i = base; i < static_cast<int64_t>(slots.size()); ++i) {
        if (pick(2)) keep.push_back(i);
      }
      // Rewrite the kept slots' positions through a fresh tree append.
      kv.seq_truncate(s, base);
      slots.resize(static_cast<size_t>(base));
      std::vector<int32_t> toks;
      for (size_t k = 0; k < keep.size() + 3; ++k) toks.push_back(pick(5));
      try {
        // Tree slots: the path's nodes at even offsets, siblings between.
        kv.prepare_append(s, static_cast<int64_t>(toks.size()));
      } catch (const Error&) {
        continue;
      }
      std::vector<int32_t> pos(toks.size());
      std::vector<int64_t> path;
      int32_t depth = 0;
      for (size_t k = 0; k < toks.size(); ++k) {
        const bool on_path = k % 2 == 0 && static_cast<int>(path.size()) < static_cast<int>(keep.size());
        pos[k] = static_cast<int32_t>(base) + (on_path ? depth++ : depth);
        if (on_path) path.push_back(base + static_cast<int64_t>(k));
        float kk[kHeadDim], vv[kHeadDim];
        for (int d = 0; d < kHeadDim; ++d) kk[d] = static_cast<float>(toks[k]), vv[d] = static_cast<float>(pos[k]);
        for (int64_t l = 0; l < 2; ++l) kv.format().store(kv.layer(l), kv.page_table(s), base + static_cast<int64_t>(k), 1, kHeadDim, kk, vv);
      }
      kv.commit_append(s, toks, pos.data());
      kv.keep_slots(s, base, path);
      for (int64_t p : path) slots.push_back({toks[static_cast<size_t>(p - base)], static_cast<int>(slots.size())});
      // keep copies keys but rewrites positions in the slot record only:
      // the stored V (our position marker) moved with the slot and equals it.
    } else if (!m.seqs.empty()) {  // free
      const int32_t s = any_seq();
      kv.seq_free(s);
      m.seqs.erase(s);
    }
    check(kv, m, step);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(full_errors, 0) << "the pool never filled: the test did not exercise exhaustion";
  EXPECT_GT(hits_seen, 0) << "no prefix was ever reused";
  EXPECT_GT(kv.prefix_stats().evictions, 0) << "nothing was ever evicted";
}

TEST(KvCache, RunningOutOfPagesChangesNothing) {
  KvCache kv(small_params(4 * kPage, 2, false));
  const int32_t a = kv.seq_new(), b = kv.seq_new();
  append(kv, a, std::vector<int32_t>(3 * kPage, 1), 0);
  append(kv, b, std::vector<int32_t>(kPage - 1, 2), 0);
  EXPECT_EQ(kv.n_free_pages(), 0);
  try {
    append(kv, b, std::vector<int32_t>(2, 3), kPage - 1);  // needs a fifth page
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kv.seq_length(b), kPage - 1);
  append(kv, b, {3}, kPage - 1);  // the last free slot of its page still works
  kv.seq_truncate(a, kPage);
  append(kv, b, std::vector<int32_t>(kPage, 4), kPage);
  EXPECT_EQ(read_slot(kv, b, kPage), std::make_pair(4, kPage));
  EXPECT_THROW(kv.seq_new(), Error);  // both sequence slots in use
  EXPECT_THROW(kv.seq_truncate(a, kPage + 1), Error);
  kv.seq_free(a);
  EXPECT_THROW(kv.seq_length(a), Error);
}

TEST(KvCache, ForkSharesPagesUntilAWriteCopiesOne) {
  KvCache kv(small_params(8 * kPage, 3, false));
  const int32_t a = kv.seq_new();
  append(kv, a, std::vector<int32_t>(kPage + 4, 7), 0);  // one full page and a partial one
  const int64_t free0 = kv.n_free_pages();
  const int32_t b = kv.seq_fork(a);
  EXPECT_EQ(kv.n_free_pages(), free0);  // nothing copied yet
  EXPECT_EQ(kv.page_table(a)[1], kv.page_table(b)[1]);
  EXPECT_EQ(kv.pages_for_append(b, 1), 1);  // the shared partial page must be copied
  append(kv, b, {9}, kPage + 4);
  EXPECT_EQ(kv.n_free_pages(), free0 - 1);
  EXPECT_EQ(kv.page_table(a)[0], kv.page_table(b)[0]);  // the full page stays shared
  EXPECT_NE(kv.page_table(a)[1], kv.page_table(b)[1]);
  append(kv, a, {8}, kPage + 4);  // a now holds its page alone: no copy
  EXPECT_EQ(kv.n_free_pages(), free0 - 1);
  EXPECT_EQ(read_slot(kv, a, kPage + 4).first, 8);
  EXPECT_EQ(read_slot(kv, b, kPage + 4).first, 9);
  EXPECT_EQ(read_slot(kv, b, kPage + 3).first, 7);
}

TEST(KvCache, PrefixCacheMapsWholeMatchingPagesAndEvictsLeastRecentLeaves) {
  KvCache kv(small_params(6 * kPage, 3, true));
  std::vector<int32_t> p1(3 * kPage + 2);
  for (size_t i = 0; i < p1.size(); ++i) p1[i] = static_cast<int32_t>(i % 11);
  const int32_t a = kv.seq_new();
  append(kv, a, p1, 0);
  kv.publish(a);
  EXPECT_EQ(kv.prefix_stats().entries, 3);
  kv.seq_free(a);
  EXPECT_EQ(kv.n_free_pages(), 3);  // the three full pages stay cached

  // The same prompt maps 3 pages; exactly 3 pages of it maps only 2 (the
  // last token must be computed); a prompt differing in page 1 maps 1.
  std::vector<int32_t> exact(p1.begin(), p1.begin() + 3 * kPage);
  std::vector<int32_t> differ = p1;
  differ[kPage + 3] = 99;
  const int32_t b = kv.seq_new();
  EXPECT_EQ(kv.attach_prefix(b, p1), 3 * kPage);
  for (int64_t i = 0; i < 3 * kPage; ++i) EXPECT_EQ(read_slot(kv, b, i), std::make_pair(p1[static_cast<size_t>(i)], static_cast<int>(i)));
  const int32_t c = kv.seq_new();
  EXPECT_EQ(kv.attach_prefix(c, exact), 2 * kPage);
  kv.seq_free(c);
  const int32_t d = kv.seq_new();
  EXPECT_EQ(kv.attach_prefix(d, differ), kPage);
  EXPECT_EQ(kv.page_table(d)[0], kv.page_table(b)[0]);
  kv.seq_free(d);
  kv.seq_free(b);

  // Filling the pool evicts cached pages, leaves first (page 2 before 1 before 0).
  const int32_t e = kv.seq_new();
  append(kv, e, std::vector<int32_t>(4 * kPage, 5), 0);
  EXPECT_EQ(kv.prefix_stats().evictions, 1);
  const int32_t f = kv.seq_new();
  EXPECT_EQ(kv.attach_prefix(f, p1), 2 * kPage);  // pages 0 and 1 survived
  kv.seq_free(f);
  append(kv, e, std::vector<int32_t>(2 * kPage, 5), 4 * kPage);
  EXPECT_EQ(kv.prefix_stats().evictions, 3);
  EXPECT_EQ(kv.prefix_stats().entries, 0);
  EXPECT_THROW(append(kv, e, {1}, 6 * kPage), Error);
}

}  // namespace
}  // namespace kestrel

namespace kestrel {
namespace {

// A second sequence that regrows, token by token, exactly the pages an
// earlier one left in the prefix cache (a greedy server answering the same
// prompt twice) while the pool has room for one sequence only: publishing
// maps the cached pages instead of indexing duplicates, so every page of
// the cache stays evictable or in use and the pool never runs dry.
TEST(KvCache, RegrowingCachedPagesInATightPoolMapsThemInsteadOfRunningOut) {
  KvCache kv(small_params(8 * kPage, 1, true));
  std::vector<int32_t> toks(8 * kPage - 3);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<int32_t>(i % 7);
  int32_t a = kv.seq_new();
  for (size_t i = 0; i < toks.size(); ++i) {
    append(kv, a, {toks[i]}, static_cast<int32_t>(i));
    kv.publish(a);
  }
  kv.seq_free(a);
  EXPECT_EQ(kv.prefix_stats().entries, 7);
  const int32_t b = kv.seq_new();
  for (size_t i = 0; i < toks.size(); ++i) {
    ASSERT_NO_THROW(append(kv, b, {toks[i]}, static_cast<int32_t>(i))) << "token " << i;
    kv.publish(b);
  }
  EXPECT_EQ(kv.seq_length(b), static_cast<int64_t>(toks.size()));
  for (int64_t i = 0; i < kv.seq_length(b); ++i) EXPECT_EQ(kv.seq_tokens(b)[static_cast<size_t>(i)], toks[static_cast<size_t>(i)]);
  kv.seq_free(b);
  EXPECT_EQ(kv.n_free_pages() + kv.prefix_stats().entries, kv.n_pages());
  // Everything cached must still be evictable: other tokens fill the pool.
  const int32_t c = kv.seq_new();
  for (size_t i = 0; i < toks.size(); ++i) {
    ASSERT_NO_THROW(append(kv, c, {static_cast<int32_t>(100 + i % 5)}, static_cast<int32_t>(i))) << "token " << i;
    kv.publish(c);
  }
}

}  // namespace
}  // namespace kestrel
