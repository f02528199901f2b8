// The page pool (page_pool.h): one anonymous mapping, advised for huge
// pages (a deep decode step walks many pages; 2 MiB pages keep the TLB
// from missing on every one).
#include "kv/page_pool.h"

#include <sys/mman.h>

#include <string>

#include "core/error.h"

namespace kestrel {

PagePool::PagePool(int64_t n_pages, size_t page_bytes) : page_bytes_(page_bytes) {
  if (n_pages < 1 || n_pages > INT32_MAX || page_bytes == 0) throw Error("KV cache: bad page count or size");
  mem_bytes_ = static_cast<size_t>(n_pages) * page_bytes;
  void* p = mmap(nullptr, mem_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    throw Error("KV cache: cannot map " + std::to_string(mem_bytes_ >> 20) + " MiB for " + std::to_string(n_pages) +
                " pages");
  }
#ifdef MADV_HUGEPAGE
  madvise(p, mem_bytes_, MADV_HUGEPAGE);
#endif
  mem_ = static_cast<uint8_t*>(p);
  refs_.assign(static_cast<size_t>(n_pages), 0);
  free_.reserve(static_cast<size_t>(n_pages));
  for (int64_t i = n_pages - 1; i >= 0; --i) free_.push_back(static_cast<int32_t>(i));
}

PagePool::~PagePool() {
  if (mem_) munmap(mem_, mem_bytes_);
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
