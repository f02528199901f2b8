// The paged KV cache (kv_cache.h).
#include "kv/kv_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.h"

namespace kestrel {
namespace {

std::string seq_name(int32_t s) { return "sequence " + std::to_string(s); }

// One anonymous mapping for every page, advised for huge pages (a deep
// decode step walks many pages; 2 MiB pages keep the TLB from missing on
// every one). MAP_NORESERVE: untouched pages cost nothing.
uint8_t* map_cache(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw Error("KV cache: cannot map " + std::to_string(bytes >> 20) + " MiB");
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return static_cast<uint8_t*>(p);
}

}  // namespace

KvCache::KvCache(const KvCacheParams& p)
    : geom_(p.geometry),
      format_(p.format ? p.format : &default_kv_format()),
      page_slots_(p.page_slots),
      max_seq_slots_(p.max_seq_slots > 0 ? std::min(p.max_seq_slots, p.n_slots) : p.n_slots) {
  if (!valid_page_slots(page_slots_)) {
    throw Error("KV cache: page size must be a power of two from 16 to " + std::to_string(kAttentionSegment));
  }
  if (p.n_slots < 1) throw Error("KV cache: the context must hold at least one position");
  if (p.max_seqs < 1) throw Error("KV cache: at least one sequence");
  const int64_t n_pages = (p.n_slots + page_slots_ - 1) / page_slots_;
  k_block_ = format_->key_block_bytes(page_slots_, geom_.head_dim);
  v_block_ = format_->value_block_bytes(page_slots_, geom_.head_dim);
  const size_t heads = static_cast<size_t>(geom_.n_head_kv) * static_cast<size_t>(n_pages);
  layer_bytes_ = heads * (k_block_ + v_block_);
  // A cache larger than this machine's memory is a clear error rather than
  // an out-of-memory kill later.
  const double bytes = static_cast<double>(layer_bytes_) * static_cast<double>(geom_.n_layer);
  const double ram = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (ram > 0 && bytes > ram) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "a context of %lld positions needs a %.1f GiB KV cache, more than this machine's %.1f GiB of memory",
                  static_cast<long long>(p.n_slots), bytes / (1u << 30), ram / (1u << 30));
    throw Error(buf);
  }
  mem_bytes_ = layer_bytes_ * static_cast<size_t>(geom_.n_layer);
  mem_ = std::unique_ptr<uint8_t, KvMappingDeleter>(map_cache(mem_bytes_), KvMappingDeleter{mem_bytes_});
  pool_ = std::make_unique<PagePool>(n_pages);
  if (p.prefix_cache) prefix_ = std::make_unique<PrefixCache>(*pool_, page_slots_);
  seqs_.resize(static_cast<size_t>(p.max_seqs));
}

void KvMappingDeleter::operator()(uint8_t* p) const {
  if (p) munmap(p, bytes);
}

// Layer l: the keys of every head and page (head-major), then the values.
KvPages KvCache::layer(int64_t l) const {
  const size_t n_pages = static_cast<size_t>(pool_->n_pages());
  KvPages v;
  v.k = mem_.get() + static_cast<size_t>(l) * layer_bytes_;
  v.v = v.k + static_cast<size_t>(geom_.n_head_kv) * n_pages * k_block_;
  v.k_page = k_block_;
  v.v_page = v_block_;
  v.k_head = n_pages * k_block_;
  v.v_head = n_pages * v_block_;
  v.page_slots = page_slots_;
  return v;
}

void KvCache::copy_page(int32_t to, int32_t from) {
  for (int64_t l = 0; l < geom_.n_layer; ++l) {
    const KvPages L = layer(l);
    for (int h = 0; h < geom_.n_head_kv; ++h) {
      std::memcpy(L.key_block(to, h), L.key_block(from, h), k_block_);
      std::memcpy(L.value_block(to, h), L.value_block(from, h), v_block_);
    }
  }
}

KvCache::Seq& KvCache::seq(int32_t s) {
  if (s < 0 || s >= max_seqs() || !seqs_[static_cast<size_t>(s)].live) throw Error(seq_name(s) + " does not exist");
  return seqs_[static_cast<size_t>(s)];
}

const KvCache::Seq& KvCache::seq(int32_t s) const { return const_cast<KvCache*>(this)->seq(s); }

bool KvCache::seq_live(int32_t s) const {
  return s >= 0 && s < max_seqs() && seqs_[static_cast<size_t>(s)].live;
}

int KvCache::n_live() const {
  return static_cast<int>(std::count_if(seqs_.begin(), seqs_.end(), [](const Seq& q) { return q.live; }));
}

int32_t KvCache::seq_new() {
  for (size_t i = 0; i < seqs_.size(); ++i) {
    Seq& q = seqs_[i];
    if (q.live) continue;
    q.live = true;
    q.len = 0;
    // Sized once per sequence slot: appends never allocate.
    const size_t slots = static_cast<size_t>(max_seq_slots_);
    q.pages.clear();
    q.pages.reserve((slots + page_slots_ - 1) / page_slots_);
    q.chain.clear();
    q.chain.reserve(q.pages.capacity());
    q.tokens.resize(slots);
    q.pos.resize(slots);
    return static_cast<int32_t>(i);
  }
  throw Error("all " + std::to_string(seqs_.size()) + " sequences are in use (raise --parallel)");
}

int32_t KvCache::seq_fork(int32_t src) {
  const Seq& f = seq(src);
  const int32_t s = seq_new();  // seqs_ never resizes: f stays valid
  Seq& q = seqs_[static_cast<size_t>(s)];
  q.len = f.len;
  const size_t used = static_cast<size_t>((f.len + page_slots_ - 1) / page_slots_);
  q.pages.assign(f.pages.begin(), f.pages.begin() + static_cast<int64_t>(used));
  for (int32_t pg : q.pages) pool_->retain(pg);
  std::copy_n(f.tokens.begin(), f.len, q.tokens.begin());
  std::copy_n(f.pos.begin(), f.len, q.pos.begin());
  q.chain = f.chain;
  return s;
}

void KvCache::release_pages_from(Seq& q, size_t n_keep) {
  for (size_t k = n_keep; k < q.pages.size(); ++k) pool_->release(q.pages[k]);
  q.pages.resize(std::min(n_keep, q.pages.size()));
}

void KvCache::seq_free(int32_t s) {
  Seq& q = seq(s);
  release_pages_from(q, 0);
  q.chain.clear();
  q.len = 0;
  q.live = false;
}

void KvCache::seq_truncate(int32_t s, int64_t n) {
  Seq& q = seq(s);
  if (n < 0 || n > q.len) {
    throw Error("truncate: position " + std::to_string(n) + " outside 0.." + std::to_string(q.len));
  }
  q.len = n;
  release_pages_from(q, static_cast<size_t>((n + page_slots_ - 1) / page_slots_));
  q.chain.resize(std::min(q.chain.size(), static_cast<size_t>(n / page_slots_)));
}

int64_t KvCache::pages_for_append(int32_t s, int64_t n) const {
  const Seq& q = seq(s);
  if (n <= 0) return 0;
  int64_t need = 0;
  for (int64_t k = q.len / page_slots_; k <= (q.len + n - 1) / page_slots_; ++k) {
    if (k >= static_cast<int64_t>(q.pages.size())) ++need;
    else need += pool_->refs(q.pages[static_cast<size_t>(k)]) > 1;  // copy-on-write
  }
  return need;
}

int64_t KvCache::pages_available() const { return pool_->n_free() + (prefix_ ? prefix_->evictable() : 0); }

int32_t KvCache::take_page() {
  int32_t p = pool_->alloc();
  while (p < 0 && prefix_ && prefix_->evict_one()) p = pool_->alloc();
  if (p < 0) throw Error("KV cache: out of pages");  // prepare_append checked: unreachable
  return p;
}

void KvCache::prepare_append(int32_t s, int64_t n) {
  Seq& q = seq(s);
  if (q.len + n > max_seq_slots_) {
    throw Error(seq_name(s) + " would hold " + std::to_string(q.len + n) + " positions, more than the " +
                std::to_string(max_seq_slots_) + " one sequence may hold");
  }
  const int64_t need = pages_for_append(s, n);
  const int64_t have = pages_available();
  if (need > have) {
    throw Error("KV cache full: " + seq_name(s) + " needs " + std::to_string(need) + " more pages of " +
                std::to_string(page_slots_) + " positions, " + std::to_string(have) + " of " +
                std::to_string(pool_->n_pages()) + " are free (raise -c)");
  }
  for (int64_t k = q.len / page_slots_; k <= (q.len + n - 1) / page_slots_ && n > 0; ++k) {
    if (k >= static_cast<int64_t>(q.pages.size())) {
      q.pages.push_back(take_page());
      continue;
    }
    const int32_t old = q.pages[static_cast<size_t>(k)];
    if (pool_->refs(old) == 1) continue;
    const int32_t fresh = take_page();
    copy_page(fresh, old);
    pool_->release(old);
    q.pages[static_cast<size_t>(k)] = fresh;
  }
}

void KvCache::commit_append(int32_t s, std::span<const int32_t> tokens, const int32_t* pos) {
  Seq& q = seq(s);
  const auto n = static_cast<int64_t>(tokens.size());
  if (q.len + n > static_cast<int64_t>(q.pages.size()) * page_slots_) throw Error("KV cache: commit without prepare");
  std::copy(tokens.begin(), tokens.end(), q.tokens.begin() + q.len);
  std::copy_n(pos, n, q.pos.begin() + q.len);
  q.len += n;
}

void KvCache::keep_slots(int32_t s, int64_t base, std::span<const int64_t> slots) {
  Seq& q = seq(s);
  for (size_t j = 0; j < slots.size(); ++j) {
    const int64_t from = slots[j];
    if (from < base || from >= q.len || (j > 0 && from <= slots[j - 1])) {
      throw Error("keep: slots must ascend within " + std::to_string(base) + ".." + std::to_string(q.len - 1));
    }
    if (q.pos[static_cast<size_t>(from)] != base + static_cast<int64_t>(j)) {
      throw Error("keep: slot " + std::to_string(from) + " holds position " +
                  std::to_string(q.pos[static_cast<size_t>(from)]) + ", not " + std::to_string(base + j));
    }
  }
  if (base > q.len) throw Error("keep: base past the sequence's length");
  // The destination pages must be this sequence's alone.
  const int64_t end = base + static_cast<int64_t>(slots.size());
  int64_t shared = 0;
  for (int64_t k = base / page_slots_; k < (end + page_slots_ - 1) / page_slots_; ++k) {
    shared += pool_->refs(q.pages[static_cast<size_t>(k)]) > 1;
  }
  if (shared > pages_available()) throw Error("KV cache full: no page to copy a shared page before keep");
  for (int64_t k = base / page_slots_; k < (end + page_slots_ - 1) / page_slots_; ++k) {
    const int32_t old = q.pages[static_cast<size_t>(k)];
    if (pool_->refs(old) == 1) continue;
    const int32_t fresh = take_page();
    copy_page(fresh, old);
    pool_->release(old);
    q.pages[static_cast<size_t>(k)] = fresh;
  }
  for (size_t j = 0; j < slots.size(); ++j) {
    const int64_t from = slots[j], to = base + static_cast<int64_t>(j);
    if (from == to) continue;
    for (int64_t l = 0; l < geom_.n_layer; ++l) {
      format_->copy_slot(layer(l), q.pages.data(), from, q.pages.data(), to, geom_.n_head_kv, geom_.head_dim);
    }
    q.tokens[static_cast<size_t>(to)] = q.tokens[static_cast<size_t>(from)];
    q.pos[static_cast<size_t>(to)] = static_cast<int32_t>(to);
  }
  seq_truncate(s, end);
}

int64_t KvCache::attach_prefix(int32_t s, std::span<const int32_t> prompt) {
  Seq& q = seq(s);
  if (!prefix_ || prompt.empty()) return 0;
  if (q.len != 0) throw Error("attach_prefix: " + seq_name(s) + " is not empty");
  const auto n = static_cast<int64_t>(prompt.size());
  int32_t parent = -1;
  int64_t k = 0;
  // At least the prompt's last token is left to compute (its logits).
  while ((k + 1) * page_slots_ <= n - 1 && (k + 1) * page_slots_ <= max_seq_slots_) {
    const int32_t e = prefix_->find(parent, prompt.data() + k * page_slots_);
    if (e < 0) break;
    const int32_t page = prefix_->page_of(e);
    pool_->retain(page);
    q.pages.push_back(page);
    q.chain.push_back(e);
    parent = e;
    ++k;
  }
  q.len = k * page_slots_;
  std::copy_n(prompt.begin(), q.len, q.tokens.begin());
  for (int64_t i = 0; i < q.len; ++i) q.pos[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  return q.len;
}

void KvCache::publish(int32_t s) {
  Seq& q = seq(s);
  if (!prefix_) return;
  const auto n_full = static_cast<size_t>(q.len / page_slots_);
  for (size_t k = q.chain.size(); k < n_full; ++k) {
    const size_t first = k * static_cast<size_t>(page_slots_);
    for (size_t i = first; i < first + static_cast<size_t>(page_slots_); ++i) {
      if (q.pos[i] != static_cast<int32_t>(i)) return;  // tree slots not yet kept
    }
    const int32_t parent = k > 0 ? q.chain[k - 1] : -1;
    const int32_t e = prefix_->insert(parent, q.tokens.data() + first, q.pages[k]);
    // The block was indexed already, by another sequence's page: map that
    // page instead (same tokens at the same positions after the same
    // prefix, so the same K/V) and give ours back. The sequence then holds
    // every entry of its chain, so none of them can be evicted under it.
    const int32_t cached = prefix_->page_of(e);
    if (cached != q.pages[k]) {
      pool_->retain(cached);
      pool_->release(q.pages[k]);
      q.pages[k] = cached;
    }
    q.chain.push_back(e);
  }
}

std::string kv_cache_summary(const KvCache& kv) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "kv cache: %lld positions (%d sequence%s, up to %lld each), %.1f MiB, %.1f KiB per token, %s, pages of %d",
                static_cast<long long>(kv.n_slots()), kv.max_seqs(), kv.max_seqs() == 1 ? "" : "s",
                static_cast<long long>(kv.max_seq_slots()), static_cast<double>(kv.bytes()) / (1 << 20),
                kv.bytes_per_token() / 1024.0, std::string(kv.format().name).c_str(), kv.page_slots());
  return buf;
}

}  // namespace kestrel
