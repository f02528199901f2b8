// The KV format table (kv_format.h): today the f16 row.
#include "kv/kv_format.h"

#include <array>

#include "core/cpu_features.h"

namespace kestrel {
namespace {

const KvFormat kF16{"f16",
                    f16_block_bytes,
                    f16_block_bytes,
                    attention_store_f16,
                    attention_copy_slot_f16,
                    attention_task_f16_ref,
                    attention_task_f16_avx2};

const std::array<const KvFormat*, 1> kFormats = {&kF16};

}  // namespace

AttentionTaskFn KvFormat::task(KernelPath path) const {
  if (path == KernelPath::Auto && task_avx2 && use_avx2()) return task_avx2;
  return task_ref;
}

std::span<const KvFormat* const> all_kv_formats() { return kFormats; }

const KvFormat* find_kv_format(std::string_view name) {
  for (const KvFormat* f : kFormats) {
    if (f->name == name) return f;
  }
  return nullptr;
}

const KvFormat& default_kv_format() { return kF16; }

double kv_bytes_per_token(const KvFormat& f, const KvGeometry& g) {
  return static_cast<double>(g.n_layer) * static_cast<double>(g.n_head_kv) * f.bytes_per_position(g.head_dim);
}

}  // namespace kestrel
