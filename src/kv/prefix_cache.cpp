// The prefix cache (prefix_cache.h): linear probing with backward-shift
// deletion (no tombstones, so lookups never slow down with churn).
#include "kv/prefix_cache.h"

#include <algorithm>

namespace kestrel {

PrefixCache::PrefixCache(PagePool& pool, int page_slots) : pool_(pool), page_slots_(page_slots) {
  const size_t n = static_cast<size_t>(pool.n_pages());
  entries_.resize(n);
  tokens_.resize(n * static_cast<size_t>(page_slots));
  free_entries_.reserve(n);
  for (size_t i = n; i-- > 0;) free_entries_.push_back(static_cast<int32_t>(i));
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  table_.assign(cap, -1);
  mask_ = cap - 1;
}

uint64_t PrefixCache::hash_of(int32_t parent, const int32_t* tokens) const {
  // splitmix64 steps over the parent and each token.
  auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(static_cast<uint64_t>(static_cast<uint32_t>(parent)) + 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < page_slots_; ++i) h = mix(h ^ static_cast<uint32_t>(tokens[i]));
  return h;
}

bool PrefixCache::matches(int32_t e, int32_t parent, const int32_t* tokens) const {
  const Entry& en = entries_[static_cast<size_t>(e)];
  return en.parent == parent &&
         std::equal(tokens, tokens + page_slots_, tokens_.begin() + static_cast<int64_t>(e) * page_slots_);
}

int32_t PrefixCache::find(int32_t parent, const int32_t* tokens) {
  ++stats_.lookups;
  const uint64_t h = hash_of(parent, tokens);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const int32_t e = table_[i];
    if (e < 0) return -1;
    if (entries_[static_cast<size_t>(e)].hash == h && matches(e, parent, tokens)) {
      ++stats_.hits;
      lru_unlink(e);
      lru_push_front(e);
      return e;
    }
  }
}

int32_t PrefixCache::insert(int32_t parent, const int32_t* tokens, int32_t page) {
  const uint64_t h = hash_of(parent, tokens);
  uint64_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    const int32_t e = table_[i];
    if (e < 0) break;
    if (entries_[static_cast<size_t>(e)].hash == h && matches(e, parent, tokens)) return e;
  }
  // Never empty: there is an entry per page, and a page is indexed once.
  const int32_t e = free_entries_.back();
  free_entries_.pop_back();
  Entry& en = entries_[static_cast<size_t>(e)];
  en = Entry{};
  en.page = page;
  en.parent = parent;
  en.hash = h;
  std::copy(tokens, tokens + page_slots_, tokens_.begin() + static_cast<int64_t>(e) * page_slots_);
  table_[i] = e;
  if (parent >= 0) ++entries_[static_cast<size_t>(parent)].children;
  pool_.retain(page);
  lru_push_front(e);
  ++stats_.insertions;
  ++stats_.entries;
  return e;
}

int64_t PrefixCache::evictable() const {
  int64_t n = 0;
  for (int32_t e = head_; e >= 0; e = entries_[static_cast<size_t>(e)].next) {
    n += pool_.refs(entries_[static_cast<size_t>(e)].page) == 1;
  }
  return n;
}

bool PrefixCache::evict_one() {
  for (int32_t e = tail_; e >= 0; e = entries_[static_cast<size_t>(e)].prev) {
    Entry& en = entries_[static_cast<size_t>(e)];
    if (en.children > 0 || pool_.refs(en.page) != 1) continue;
    table_erase(e);
    lru_unlink(e);
    if (en.parent >= 0) --entries_[static_cast<size_t>(en.parent)].children;
    pool_.release(en.page);
    en.page = -1;
    free_entries_.push_back(e);
    ++stats_.evictions;
    --stats_.entries;
    return true;
  }
  return false;
}

void PrefixCache::lru_unlink(int32_t e) {
  Entry& en = entries_[static_cast<size_t>(e)];
  if (en.prev >= 0) entries_[static_cast<size_t>(en.prev)].next = en.next;
  else head_ = en.next;
  if (en.next >= 0) entries_[static_cast<size_t>(en.next)].prev = en.prev;
  else tail_ = en.prev;
  en.prev = en.next = -1;
}

void PrefixCache::lru_push_front(int32_t e) {
  Entry& en = entries_[static_cast<size_t>(e)];
  en.prev = -1;
  en.next = head_;
  if (head_ >= 0) entries_[static_cast<size_t>(head_)].prev = e;
  head_ = e;
  if (tail_ < 0) tail_ = e;
}

void PrefixCache::table_erase(int32_t e) {
  uint64_t i = entries_[static_cast<size_t>(e)].hash & mask_;
  while (table_[i] != e) i = (i + 1) & mask_;
  // Backward shift: move later entries of the probe run into the hole
  // when their home slot does not lie (cyclically) between hole and them.
  uint64_t hole = i;
  for (uint64_t j = (i + 1) & mask_; table_[j] >= 0; j = (j + 1) & mask_) {
    const uint64_t home = entries_[static_cast<size_t>(table_[j])].hash & mask_;
    const bool between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!between) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = -1;
}

}  // namespace kestrel
