// The paged KV cache of many sequences: one page pool, a page table per
// sequence, fork / truncate / free, copy-on-write, and the prefix cache.
//
// Layout. A page holds page_slots positions of every layer: per layer and
// KV head a key block and a value block in the KV format's own layout
// (kv_format.h), stored head-major (kernels/attention.h, KvPages) so that
// a sequence on consecutive pages streams each head contiguously. One
// memory budget covers all sequences (n_slots positions, as llama-server's
// -c); a sequence may hold up to max_seq_slots of them.
//
// Sharing. seq_fork() gives the new sequence the source's page table,
// every page's reference count raised; a write into a page that another
// sequence or the prefix cache also holds first copies it
// (prepare_append). Truncating releases the pages past the new length.
//
// Appending is two steps so that a batch never half-applies: the engine
// asks pages_for_append() of every sequence in the batch, checks the sum
// against pages_available() (free pages plus evictable prefix-cache
// pages), then prepare_append()s each (evicting as needed), runs the
// forward pass, and commit_append()s the tokens and positions.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kv/kv_format.h"
#include "kv/page_pool.h"
#include "kv/prefix_cache.h"

namespace kestrel {

struct KvCacheParams {
  KvGeometry geometry;
  const KvFormat* format = nullptr;  // null: default_kv_format()
  int page_slots = 64;
  int64_t n_slots = 0;               // positions over all sequences
  int max_seqs = 1;
  int64_t max_seq_slots = 0;         // positions one sequence may hold (0: n_slots)
  bool prefix_cache = false;
};

// Unmaps the cache's memory.
struct KvMappingDeleter {
  size_t bytes = 0;
  void operator()(uint8_t* p) const;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheParams& p);

  const KvFormat& format() const { return *format_; }
  const KvGeometry& geometry() const { return geom_; }
  int page_slots() const { return page_slots_; }
  int64_t n_slots() const { return pool_->n_pages() * page_slots_; }
  int64_t max_seq_slots() const { return max_seq_slots_; }
  int max_seqs() const { return static_cast<int>(seqs_.size()); }
  int64_t n_pages() const { return pool_->n_pages(); }
  int64_t n_free_pages() const { return pool_->n_free(); }
  size_t bytes() const { return mem_bytes_; }
  double bytes_per_token() const { return kv_bytes_per_token(*format_, geom_); }
  KvPages layer(int64_t l) const;
  const PagePool& pool() const { return *pool_; }

  // Sequences. Ids are 0..max_seqs-1; every call on a dead id throws.
  int32_t seq_new();
  int32_t seq_fork(int32_t src);
  void seq_free(int32_t s);
  void seq_truncate(int32_t s, int64_t n);
  bool seq_live(int32_t s) const;
  int n_live() const;
  int64_t seq_length(int32_t s) const { return seq(s).len; }
  const int32_t* page_table(int32_t s) const { return seq(s).pages.data(); }
  std::span<const int32_t> seq_tokens(int32_t s) const { return {seq(s).tokens.data(), static_cast<size_t>(seq(s).len)}; }
  std::span<const int32_t> seq_positions(int32_t s) const { return {seq(s).pos.data(), static_cast<size_t>(seq(s).len)}; }

  // Appending n slots (see above). prepare_append throws kestrel::Error
  // naming the shortfall, before changing anything, when the pool cannot
  // provide the pages.
  int64_t pages_for_append(int32_t s, int64_t n) const;
  int64_t pages_available() const;
  void prepare_append(int32_t s, int64_t n);
  void commit_append(int32_t s, std::span<const int32_t> tokens, const int32_t* pos);

  // Keeps slots[j] (ascending, >= base, < length) at slot base + j with
  // position base + j, then truncates to base + slots.size(): the accepted
  // path of a candidate tree becomes the sequence's linear continuation.
  void keep_slots(int32_t s, int64_t base, std::span<const int64_t> slots);

  // Prefix cache (when enabled). attach_prefix maps the cached pages that
  // begin `prompt` into the empty sequence s, leaving at least its last
  // token to compute; returns the positions mapped. publish indexes the
  // sequence's full pages whose slots hold linear positions (pos == slot).
  int64_t attach_prefix(int32_t s, std::span<const int32_t> prompt);
  void publish(int32_t s);
  bool prefix_cache_enabled() const { return prefix_ != nullptr; }
  PrefixCacheStats prefix_stats() const { return prefix_ ? prefix_->stats() : PrefixCacheStats{}; }

 private:
  struct Seq {
    bool live = false;
    int64_t len = 0;
    std::vector<int32_t> pages;   // page table
    std::vector<int32_t> tokens;  // per slot
    std::vector<int32_t> pos;     // per slot
    std::vector<int32_t> chain;   // prefix-cache entry of each published page
  };
  Seq& seq(int32_t s);
  const Seq& seq(int32_t s) const;
  int32_t take_page();  // a free page, evicting a cached one if needed
  void copy_page(int32_t to, int32_t from);
  void release_pages_from(Seq& q, size_t n_keep);

  KvGeometry geom_;
  const KvFormat* format_;
  int page_slots_;
  int64_t max_seq_slots_;
  size_t k_block_ = 0, v_block_ = 0, layer_bytes_ = 0, mem_bytes_ = 0;
  std::unique_ptr<uint8_t, KvMappingDeleter> mem_;
  std::unique_ptr<PagePool> pool_;
  std::unique_ptr<PrefixCache> prefix_;
  std::vector<Seq> seqs_;
};

// One line for start-up: positions, sequences, memory, bytes per token,
// page size and format ("kv cache: 4096 positions (1 sequence), 128.0 MiB,
// 32.0 KiB per token, f16, pages of 64").
std::string kv_cache_summary(const KvCache& kv);

}  // namespace kestrel
