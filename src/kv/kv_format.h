// The table of KV cache formats: how one KV head's keys and values for a
// page of positions are stored, and which attention task reads them.
//
// A format row supplies the byte count of a head block, the store of one
// token, the copy of one slot (tree compaction), and its attention task
// kernels (kernels/attention.h), so a new KV format (q8_0 keys, int8 per
// token, codebooks) is a new row plus its own kernel files. Every byte
// count of the cache (start-up report, memory check, bench roofline,
// profile) comes from kv_bytes_per_token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernels/attention.h"
#include "kernels/matmul.h"

namespace kestrel {

// The KV dimensions of a model.
struct KvGeometry {
  int64_t n_layer = 0;
  int n_head_kv = 0;
  int head_dim = 0;
};

struct KvFormat {
  std::string_view name;  // as -ctk / -ctv spell it
  // Bytes of one KV head's key block and value block in a page.
  size_t (*key_block_bytes)(int page_slots, int head_dim);
  size_t (*value_block_bytes)(int page_slots, int head_dim);
  void (*store)(const KvPages& kv, const int32_t* pages, int64_t slot, int n_head_kv, int head_dim, const float* k,
                const float* v);
  void (*copy_slot)(const KvPages& kv, const int32_t* src, int64_t from, const int32_t* dst, int64_t to,
                    int n_head_kv, int head_dim);
  AttentionTaskFn task_ref;   // the scalar oracle
  AttentionTaskFn task_avx2;  // null: none
  // Bytes of keys and values per position and KV head.
  double bytes_per_position(int head_dim) const {
    const size_t b = key_block_bytes(kAttentionSegment, head_dim) + value_block_bytes(kAttentionSegment, head_dim);
    return static_cast<double>(b) / static_cast<double>(kAttentionSegment);
  }
  AttentionTaskFn task(KernelPath path) const;
};

std::span<const KvFormat* const> all_kv_formats();
const KvFormat* find_kv_format(std::string_view name);
const KvFormat& default_kv_format();  // f16

// K and V bytes one cached position takes over all layers.
double kv_bytes_per_token(const KvFormat& f, const KvGeometry& g);

}  // namespace kestrel
