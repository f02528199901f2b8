// Causal multi-head attention over a paged KV cache, for a batch of tokens
// from many sequences in one call (GQA/MQA aware, candidate-tree masks).
//
// Storage. The cache is made of pages of `page_slots` positions; a sequence
// owns a page table (page ids in slot order). A page has, per layer and KV
// head, a key block and a value block (KvPages); the f16 format (the one
// this file's kernels read; quantized formats add their own task kernels)
// keeps keys in blocks of 8 positions stored dimension-major (one 16-byte
// load gives one dimension of 8 positions, the operand of a vector of 8
// scores) and values position-major.
//
// Arithmetic. Reproduces llama.cpp's non-flash CPU attention within a
// segment of kAttentionSegment positions: the query is rounded to f16
// before Q·K, scores are scaled and soft-maxed in f32 (sum in double over 16
// lanes; exp is exp_softmax), the probabilities are rounded to f16 before
// the V product. A row that sees one segment (fewer than
// kAttentionSegment positions) gets exactly that. A longer row is split
// into segments computed independently (in parallel: flash-decoding) whose
// normalized outputs are merged by their softmax weights (max and sum) in
// segment order. Segment boundaries are fixed multiples of
// kAttentionSegment and every row is computed on its own, so a row's result
// depends only on its query and its sequence's cache: never on the other
// rows, runs or sequences of the batch, nor on the thread count (batch
// invariance).
//
// Work. Tasks are (run, block of its tokens, KV head, segment): the task's
// rows are the query heads sharing that KV head for each token of the
// block, so each K and V row loaded serves all of them; its scores live in
// a per-thread buffer of one segment per row. Split states go to a
// partials buffer of bounded size, processed in waves when a batch needs
// more. The scalar oracle (attention_task_f16_ref) and the AVX2 task
// (kernels/avx2/attention_avx2.cpp) perform the same float operations per
// element in the same order, hence identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"

namespace kestrel {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // a multiple of 8
  int group() const { return n_head / n_head_kv; }
};

// Positions per segment (a multiple of every page size the cache allows).
constexpr int64_t kAttentionSegment = 512;

// Page sizes attention supports: powers of two from 16 to the segment.
constexpr bool valid_page_slots(int p) { return p >= 16 && p <= kAttentionSegment && (p & (p - 1)) == 0; }

// One layer's keys and values, in two regions laid out head-major: KV
// head h's key block for page p at k + h * k_head + p * k_page, likewise
// the values. A sequence whose pages were allocated in order (the usual
// case) thus reads each head's keys and values as two contiguous streams,
// which the prefetchers follow.
struct KvPages {
  uint8_t* k = nullptr;
  uint8_t* v = nullptr;
  size_t k_page = 0, v_page = 0;  // bytes of one head's block of one page
  size_t k_head = 0, v_head = 0;  // bytes from one head's blocks to the next's
  int page_slots = 0;             // positions per page (valid_page_slots)
  uint8_t* key_block(int32_t page, int h) const {
    return k + static_cast<size_t>(h) * k_head + static_cast<size_t>(page) * k_page;
  }
  uint8_t* value_block(int32_t page, int h) const {
    return v + static_cast<size_t>(h) * v_head + static_cast<size_t>(page) * v_page;
  }
};

// The f16 format's blocks: keys page_slots/8 blocks of [head_dim][8],
// values page_slots rows of head_dim.
inline uint16_t* f16_keys(const KvPages& kv, int32_t page, int h) {
  return reinterpret_cast<uint16_t*>(kv.key_block(page, h));
}
inline uint16_t* f16_values(const KvPages& kv, int32_t page, int h) {
  return reinterpret_cast<uint16_t*>(kv.value_block(page, h));
}
inline int64_t f16_key_index(int64_t slot_in_page, int d, int head_dim) {
  return ((slot_in_page / 8) * head_dim + d) * 8 + slot_in_page % 8;
}
// Bytes of one f16 key (or value) block of a page.
inline size_t f16_block_bytes(int page_slots, int head_dim) {
  return static_cast<size_t>(page_slots) * static_cast<size_t>(head_dim) * sizeof(uint16_t);
}

// Writes one token's keys and values (f32, n_head_kv * head_dim each) into
// slot `slot` of the sequence whose page table is `pages`, rounded to f16
// (to nearest even, as fp32_to_fp16).
void attention_store_f16(const KvPages& kv, const int32_t* pages, int64_t slot, int n_head_kv, int head_dim,
                         const float* k, const float* v);
// Copies slot `from` of page table `src` to slot `to` of `dst`, every head.
void attention_copy_slot_f16(const KvPages& kv, const int32_t* src, int64_t from, const int32_t* dst, int64_t to,
                             int n_head_kv, int head_dim);

// Consecutive batch rows [row0, row0 + n_rows) of one sequence, at slots
// slot0, slot0 + 1, ... of its cache (their keys and values are stored
// before attention runs). Without a mask, row i sees slots [0, slot0 + i].
// With one (candidate trees), row i sees slots [0, slot0) and slot0 + j for
// each bit j set in its mask row (mask_words 64-bit words per row; bit i
// must be set: a token sees itself).
struct AttentionRun {
  const int32_t* pages = nullptr;
  int64_t row0 = 0;
  int64_t n_rows = 0;
  int64_t slot0 = 0;
  const uint64_t* mask = nullptr;
  int64_t mask_words = 0;
  int64_t last_slot() const { return slot0 + n_rows - 1; }
};

struct AttentionBatch {
  const float* q = nullptr;  // rows of n_head * head_dim floats
  int64_t q_stride = 0;
  float* out = nullptr;      // rows of n_head * head_dim floats
  int64_t out_stride = 0;
  AttentionShape shape;
  float scale = 1.0f;
  KvPages kv;
  std::span<const AttentionRun> runs;
};

// Tokens per task at most (rows = tokens * group, up to kTaskRowsTarget).
constexpr int64_t kTaskRowsTarget = 32;
constexpr int kMaxTaskTokens = 32;

// Segments one task covers at most: the numbers are fixed by the segment,
// but a task streams several consecutive segments of one head (scores of
// all, then each one's softmax, then their outputs), which keeps the K
// and V streams long (one segment per task ran decode at depth ~25%
// slower from DRAM).
constexpr int64_t kMaxTaskSegments = 8;

// One task: tokens [t0, t1) of `run` (run-relative), KV head kvh, the
// n_seg segments of slots from s0 (a multiple of kAttentionSegment). For
// token u = t - t0 and segment k: out[u] + k * seg_out_stride is where
// head 0 of its output goes (heads head_dim apart); when max[u] is
// non-null the row is split and the task writes each segment's normalized
// output there plus the softmax max and sum per head (max[u][k *
// seg_stat_stride + h], likewise sum); a row that sees none of a segment's
// slots is skipped for it, one whose visible slots are all masked gets
// max -inf and sum 0. A row that is not split sees only segment 0.
struct AttentionTask {
  const AttentionBatch* batch = nullptr;
  const AttentionRun* run = nullptr;
  int64_t t0 = 0, t1 = 0;
  int kvh = 0;
  int64_t s0 = 0;
  int64_t n_seg = 1;
  float* const* out = nullptr;
  float* const* max = nullptr;
  double* const* sum = nullptr;
  int64_t seg_out_stride = 0;
  int64_t seg_stat_stride = 0;
  float* out_of(int64_t u, int64_t k) const { return out[u] + k * seg_out_stride; }
};
using AttentionTaskFn = void (*)(const AttentionTask& task, float* scratch);

// Per-thread scratch of a task (scores of kMaxTaskSegments segments per
// row, rounded queries, one V tile).
struct AttentionScratch {
  int64_t max_rows;
  int64_t row_pad;
  int64_t floats;
  static AttentionScratch for_shape(const AttentionShape& s);
  static constexpr int64_t kVTile = 32;  // positions of V converted at a time
};

void attention_task_f16_ref(const AttentionTask& task, float* scratch);
void attention_task_f16_avx2(const AttentionTask& task, float* scratch);

// Whether row i of a run sees slot `slot` (slot <= its own slot).
inline bool attention_row_sees(const AttentionRun& r, int64_t i, int64_t slot) {
  if (!r.mask || slot < r.slot0) return true;
  const int64_t j = slot - r.slot0;
  return (r.mask[i * r.mask_words + j / 64] >> (j % 64)) & 1u;
}

// Preallocated state of attention_paged for batches of up to max_tokens
// rows and sequences of up to max_slots positions on n_threads threads.
class AttentionWorkspace {
 public:
  AttentionWorkspace(const AttentionShape& shape, int64_t max_tokens, int64_t max_slots, int n_threads);

  size_t bytes() const;

 private:
  friend void attention_paged(const AttentionBatch&, AttentionWorkspace&, ThreadPool&, AttentionTaskFn);
  struct Group {
    int32_t run;
    int32_t n_seg;
    int64_t t0, t1;        // run-relative tokens
    int64_t partial = -1;  // first partial entry (n_seg per token), -1: not split
    int64_t first_task = 0;
    int32_t n_chunks = 1;  // tasks per KV head
    int32_t span = 1;      // segments per task
  };
  AttentionShape shape_;
  int n_threads_;
  int64_t partial_cap_;            // entries of (token, segment), each n_head rows
  std::vector<float> scratch_;     // n_threads * AttentionScratch::floats
  std::vector<float> partial_out_;  // [entry][n_head][head_dim]
  std::vector<float> partial_max_;  // [entry][n_head]
  std::vector<double> partial_sum_;
  std::vector<Group> groups_;
};

// Runs attention for every row of every run of `b`: out = softmax(q K^T *
// scale) V over the slots each row sees, with `task` computing each task
// (a KV format's kernel). Throws kestrel::Error when the batch exceeds the
// workspace or the shape is unsupported.
void attention_paged(const AttentionBatch& b, AttentionWorkspace& ws, ThreadPool& pool, AttentionTaskFn task);

}  // namespace kestrel
