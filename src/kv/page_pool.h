// A fixed pool of KV page ids: reference counts and a free list.
//
// A page stands for `page_slots` positions of every layer's keys and
// values (their memory and layout: kv/kv_cache.h). Pages are shared by
// reference count: a forked sequence and the prefix cache hold references
// to the pages they map, and a page returns to the free list when its
// last reference goes. Nothing here allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kestrel {

class PagePool {
 public:
  explicit PagePool(int64_t n_pages);

  int64_t n_pages() const { return static_cast<int64_t>(refs_.size()); }
  int64_t n_free() const { return static_cast<int64_t>(free_.size()); }

  // A free page with one reference, or -1 when none is left.
  int32_t alloc();
  void retain(int32_t page) { ++refs_[static_cast<size_t>(page)]; }
  // Drops one reference; the page is free again when none is left.
  void release(int32_t page);
  int32_t refs(int32_t page) const { return refs_[static_cast<size_t>(page)]; }

 private:
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // a stack: the most recently freed page is reused first (warm in cache)
};

}  // namespace kestrel
