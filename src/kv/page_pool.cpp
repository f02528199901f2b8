// The page pool (page_pool.h).
#include "kv/page_pool.h"

#include <string>

#include "core/error.h"

namespace kestrel {

PagePool::PagePool(int64_t n_pages) {
  if (n_pages < 1 || n_pages > INT32_MAX) throw Error("KV cache: bad page count " + std::to_string(n_pages));
  refs_.assign(static_cast<size_t>(n_pages), 0);
  free_.reserve(static_cast<size_t>(n_pages));
  for (int64_t i = n_pages - 1; i >= 0; --i) free_.push_back(static_cast<int32_t>(i));
}

int32_t PagePool::alloc() {
  if (free_.empty()) return -1;
  const int32_t p = free_.back();
  free_.pop_back();
  refs_[static_cast<size_t>(p)] = 1;
  return p;
}

void PagePool::release(int32_t page) {
  int32_t& r = refs_[static_cast<size_t>(page)];
  if (r <= 0) throw Error("KV cache: page " + std::to_string(page) + " released more often than retained");
  if (--r == 0) free_.push_back(page);
}

}  // namespace kestrel
