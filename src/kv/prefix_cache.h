// The prefix cache: full KV pages of earlier prompts, indexed by their
// token blocks, so a new sequence whose prompt starts with cached blocks
// maps those pages instead of recomputing them.
//
// Entries form a tree (a radix tree of page-sized blocks): an entry is one
// page of page_slots tokens, the child of the entry of the page before it
// (-1 for a sequence's first page); it is found by hashing (parent, the
// block's tokens) into a fixed open-addressing table and checked token by
// token, so a hash collision can never map a wrong page. The cache holds a
// reference to each page it indexes. Under memory pressure it evicts the
// least recently used page that no sequence maps and no other entry
// extends (a page a sequence maps has all its ancestors mapped too, so the
// unmapped entries can always be evicted leaf first). Nothing allocates
// after construction.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/page_pool.h"

namespace kestrel {

struct PrefixCacheStats {
  int64_t lookups = 0;      // blocks looked up
  int64_t hits = 0;         // blocks found (their pages mapped, not recomputed)
  int64_t insertions = 0;
  int64_t evictions = 0;
  int64_t entries = 0;      // pages indexed now
};

class PrefixCache {
 public:
  PrefixCache(PagePool& pool, int page_slots);

  // The entry extending `parent` with the block `tokens` (page_slots ids),
  // or -1; a hit becomes the most recently used.
  int32_t find(int32_t parent, const int32_t* tokens);
  // Indexes `page` as the block `tokens` after `parent` and takes a
  // reference to it; when that block is indexed already, returns the
  // existing entry and takes nothing.
  int32_t insert(int32_t parent, const int32_t* tokens, int32_t page);
  int32_t page_of(int32_t entry) const { return entries_[static_cast<size_t>(entry)].page; }

  // Pages evict_one() could free, one after another.
  int64_t evictable() const;
  // Frees the least recently used evictable page; false when there is none.
  bool evict_one();
  const PrefixCacheStats& stats() const { return stats_; }

 private:
  struct Entry {
    int32_t page = -1;  // -1: unused
    int32_t parent = -1;
    int32_t children = 0;
    uint64_t hash = 0;
    int32_t prev = -1, next = -1;  // LRU list: head_ is the most recent
  };
  uint64_t hash_of(int32_t parent, const int32_t* tokens) const;
  bool matches(int32_t e, int32_t parent, const int32_t* tokens) const;
  void lru_unlink(int32_t e);
  void lru_push_front(int32_t e);
  void table_erase(int32_t e);

  PagePool& pool_;
  int page_slots_;
  std::vector<Entry> entries_;
  std::vector<int32_t> tokens_;      // [entry][page_slots]
  std::vector<int32_t> free_entries_;
  std::vector<int32_t> table_;       // open addressing, -1 empty; twice the entries, a power of two
  uint64_t mask_ = 0;
  int32_t head_ = -1, tail_ = -1;
  PrefixCacheStats stats_;
};

}  // namespace kestrel
