// Paged attention: the f16 store, the work split into tasks and waves, the
// merge of split rows, and the scalar oracle of a task (attention.h).
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "kernels/ops.h"

namespace kestrel {
namespace {

// Bytes of split-row states a wave may hold (more only when one token at
// the deepest position needs it); a long prompt deep in the context is
// processed in several waves rather than sizing this for n_batch tokens.
constexpr size_t kPartialBudget = size_t(4) << 20;

int64_t segments_for(int64_t last_slot) { return last_slot / kAttentionSegment + 1; }

}  // namespace

AttentionScratch AttentionScratch::for_shape(const AttentionShape& s) {
  AttentionScratch l;
  l.max_rows = std::max<int64_t>(1, std::min<int64_t>(kTaskRowsTarget / s.group(), kMaxTaskTokens)) * s.group();
  l.row_pad = kMaxTaskSegments * kAttentionSegment + 16;
  // scores, rounded queries, one V tile
  l.floats = l.max_rows * (l.row_pad + s.head_dim) + kVTile * s.head_dim;
  return l;
}

AttentionWorkspace::AttentionWorkspace(const AttentionShape& shape, int64_t max_tokens, int64_t max_slots,
                                       int n_threads)
    : shape_(shape), n_threads_(n_threads) {
  if (shape.head_dim % 8 != 0 || shape.n_head_kv < 1 || shape.n_head % shape.n_head_kv != 0) {
    throw Error("attention: head_dim must be a multiple of 8 and n_head a multiple of n_head_kv");
  }
  const size_t entry_bytes = static_cast<size_t>(shape.n_head) * (shape.head_dim * sizeof(float) + sizeof(float) + sizeof(double));
  partial_cap_ = std::max<int64_t>(segments_for(std::max<int64_t>(max_slots, 1) - 1),
                                   static_cast<int64_t>(kPartialBudget / entry_bytes));
  scratch_.resize(static_cast<size_t>(n_threads) * static_cast<size_t>(AttentionScratch::for_shape(shape).floats));
  partial_out_.resize(static_cast<size_t>(partial_cap_) * shape.n_head * shape.head_dim);
  partial_max_.resize(static_cast<size_t>(partial_cap_) * shape.n_head);
  partial_sum_.resize(static_cast<size_t>(partial_cap_) * shape.n_head);
  groups_.reserve(static_cast<size_t>(std::max<int64_t>(max_tokens, 1)));
}

size_t AttentionWorkspace::bytes() const {
  return scratch_.size() * sizeof(float) + partial_out_.size() * sizeof(float) + partial_max_.size() * sizeof(float) +
         partial_sum_.size() * sizeof(double) + groups_.capacity() * sizeof(Group);
}

void attention_store_f16(const KvPages& kv, const int32_t* pages, int64_t slot, int n_head_kv, int head_dim,
                         const float* k, const float* v) {
  const int32_t page = pages[slot / kv.page_slots];
  const int64_t in = slot % kv.page_slots;
  for (int h = 0; h < n_head_kv; ++h) {
    const float* kr = k + static_cast<int64_t>(h) * head_dim;
    f32_to_f16_row(v + static_cast<int64_t>(h) * head_dim, f16_values(kv, page, h) + in * head_dim, head_dim);
    // Keys go 8 positions apart: convert the row, then scatter it.
    uint16_t* keys = f16_keys(kv, page, h);
    uint16_t row[512];
    for (int d0 = 0; d0 < head_dim; d0 += 512) {
      const int n = std::min(512, head_dim - d0);
      f32_to_f16_row(kr + d0, row, n);
      for (int d = 0; d < n; ++d) keys[f16_key_index(in, d0 + d, head_dim)] = row[d];
    }
  }
}

void attention_copy_slot_f16(const KvPages& kv, const int32_t* src, int64_t from, const int32_t* dst, int64_t to,
                             int n_head_kv, int head_dim) {
  const int32_t ps = src[from / kv.page_slots], pd = dst[to / kv.page_slots];
  const int64_t is = from % kv.page_slots, id = to % kv.page_slots;
  for (int h = 0; h < n_head_kv; ++h) {
    const uint16_t* ks = f16_keys(kv, ps, h);
    uint16_t* kd = f16_keys(kv, pd, h);
    for (int d = 0; d < head_dim; ++d) kd[f16_key_index(id, d, head_dim)] = ks[f16_key_index(is, d, head_dim)];
    std::copy_n(f16_values(kv, ps, h) + is * head_dim, head_dim, f16_values(kv, pd, h) + id * head_dim);
  }
}

namespace {

// One segment of one row (token t, head h) of the scalar oracle.
void ref_segment(const AttentionTask& task, int64_t t, int h, int64_t k, const float* qh, float* scores) {
  const AttentionBatch& b = *task.batch;
  const AttentionRun& run = *task.run;
  const int hd = b.shape.head_dim;
  const int64_t s0 = task.s0 + k * kAttentionSegment;
  const int64_t slot = run.slot0 + t;
  if (slot < s0) return;
  const int64_t n = std::min(s0 + kAttentionSegment, slot + 1) - s0;
  const int64_t u = t - task.t0;
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    const int64_t sl = s0 + j;
    if (!attention_row_sees(run, t, sl)) {
      scores[j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const uint16_t* keys = f16_keys(b.kv, run.pages[sl / b.kv.page_slots], task.kvh);
    const int64_t in = sl % b.kv.page_slots;
    float dot = 0.0f;
    for (int d = 0; d < hd; ++d) dot += qh[d] * fp16_to_fp32(keys[f16_key_index(in, d, hd)]);
    scores[j] = dot * b.scale;
    mx = scores[j] > mx ? scores[j] : mx;
  }
  float* o = task.out_of(u, k) + static_cast<int64_t>(h) * hd;
  for (int d = 0; d < hd; ++d) o[d] = 0.0f;
  float* smax = task.max[u] ? task.max[u] + k * task.seg_stat_stride + h : nullptr;
  double* ssum = task.sum[u] ? task.sum[u] + k * task.seg_stat_stride + h : nullptr;
  if (mx == -std::numeric_limits<float>::infinity()) {  // every visible slot masked
    if (smax) *smax = mx, *ssum = 0.0;
    return;
  }
  // softmax_inplace's operations, keeping the max and the sum.
  double lane[16] = {};
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = exp_softmax(scores[j] - mx);
    lane[j % 16] += static_cast<double>(scores[j]);
  }
  for (int w = 8; w >= 1; w /= 2) {
    for (int i = 0; i < w; ++i) lane[i] += lane[i + w];
  }
  const float inv = static_cast<float>(1.0 / lane[0]);
  for (int64_t j = 0; j < n; ++j) {
    const float p = fp16_to_fp32(fp32_to_fp16(scores[j] * inv));
    const int64_t sl = s0 + j;
    const uint16_t* vr = f16_values(b.kv, run.pages[sl / b.kv.page_slots], task.kvh) + (sl % b.kv.page_slots) * hd;
    for (int d = 0; d < hd; ++d) o[d] += p * fp16_to_fp32(vr[d]);
  }
  if (smax) *smax = mx, *ssum = lane[0];
}

}  // namespace

void attention_task_f16_ref(const AttentionTask& task, float* scratch) {
  const AttentionBatch& b = *task.batch;
  const AttentionShape& s = b.shape;
  const int hd = s.head_dim;
  const int group = s.group();
  float* scores = scratch;
  float* qh = scratch + AttentionScratch::for_shape(s).row_pad;
  for (int64_t t = task.t0; t < task.t1; ++t) {
    for (int h = task.kvh * group; h < (task.kvh + 1) * group; ++h) {
      const float* qrow = b.q + (task.run->row0 + t) * b.q_stride + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) qh[d] = fp16_to_fp32(fp32_to_fp16(qrow[d]));
      for (int64_t k = 0; k < task.n_seg; ++k) ref_segment(task, t, h, k, qh, scores);
    }
  }
}

namespace {

// out = the split row's segments merged by their softmax weights, in
// segment order (double precision; the same code for every task kernel).
void merge_row(int n_seg, const float* outs, const float* maxes, const double* sums, int64_t entry_stride,
               int64_t stat_stride, int hd, float* out) {
  float m = -std::numeric_limits<float>::infinity();
  for (int sg = 0; sg < n_seg; ++sg) {
    if (sums[sg * stat_stride] > 0.0) m = std::max(m, maxes[sg * stat_stride]);
  }
  double acc[512];
  double total = 0.0;
  for (int d = 0; d < hd; ++d) acc[d] = 0.0;
  for (int sg = 0; sg < n_seg; ++sg) {
    const double l = sums[sg * stat_stride];
    if (!(l > 0.0)) continue;
    const double w = l * std::exp(static_cast<double>(maxes[sg * stat_stride]) - static_cast<double>(m));
    total += w;
    const float* o = outs + sg * entry_stride;
    for (int d = 0; d < hd; ++d) acc[d] += w * static_cast<double>(o[d]);
  }
  for (int d = 0; d < hd; ++d) out[d] = static_cast<float>(acc[d] / total);
}

}  // namespace

void attention_paged(const AttentionBatch& b, AttentionWorkspace& ws, ThreadPool& pool, AttentionTaskFn task) {
  const AttentionShape& s = b.shape;
  if (s.n_head != ws.shape_.n_head || s.n_head_kv != ws.shape_.n_head_kv || s.head_dim != ws.shape_.head_dim) {
    throw Error("attention: batch shape differs from its workspace");
  }
  if (s.head_dim > 512) throw Error("attention: head_dim above 512 is not supported");
  if (!valid_page_slots(b.kv.page_slots)) {
    throw Error("attention: page size must be a power of two from 16 to " + std::to_string(kAttentionSegment));
  }
  if (pool.size() > ws.n_threads_) throw Error("attention: more threads than the workspace was sized for");
  const int group = s.group();
  const int64_t tq_max = AttentionScratch::for_shape(s).max_rows / group;
  const int64_t entry_floats = static_cast<int64_t>(s.n_head) * s.head_dim;
  const AttentionScratch layout = AttentionScratch::for_shape(s);

  // Token blocks of each run; a block of split rows takes fewer tokens when
  // deep, so that one block's states fit the partials buffer.
  auto& groups = ws.groups_;
  groups.clear();
  for (size_t r = 0; r < b.runs.size(); ++r) {
    const AttentionRun& run = b.runs[r];
    if (run.n_rows < 1) throw Error("attention: empty run");
    if (segments_for(run.last_slot()) > ws.partial_cap_) throw Error("attention: position past the workspace's capacity");
    for (int64_t t0 = 0; t0 < run.n_rows;) {
      int64_t t1 = std::min(run.n_rows, t0 + tq_max);
      int64_t n_seg = segments_for(run.slot0 + t1 - 1);
      if (n_seg > 1) {
        t1 = std::min(t1, t0 + std::max<int64_t>(1, ws.partial_cap_ / n_seg));
        n_seg = segments_for(run.slot0 + t1 - 1);
      }
      if (groups.size() == groups.capacity()) throw Error("attention: more tokens than the workspace was sized for");
      groups.push_back({static_cast<int32_t>(r), static_cast<int32_t>(n_seg), t0, t1, -1, 0});
      t0 = t1;
    }
  }

  // Waves of consecutive blocks whose split states fit.
  for (size_t g0 = 0; g0 < groups.size();) {
    size_t g1 = g0;
    int64_t used = 0, n_tasks = 0;
    for (; g1 < groups.size(); ++g1) {
      AttentionWorkspace::Group& g = groups[g1];
      const int64_t need = g.n_seg > 1 ? (g.t1 - g.t0) * g.n_seg : 0;
      if (used + need > ws.partial_cap_) break;  // never for g0: one block's need fits
      g.partial = need > 0 ? used : -1;
      used += need;
    }
    AttentionWorkspace::Group* first = groups.data() + g0;
    const size_t n_groups = g1 - g0;
    // Tasks per KV head: as few as kMaxTaskSegments allows, more when
    // there would be fewer than two per thread (one deep sequence keeps
    // every core busy: flash-decoding).
    int64_t base_tasks = 0;
    for (size_t i = 0; i < n_groups; ++i) base_tasks += s.n_head_kv * ((first[i].n_seg + kMaxTaskSegments - 1) / kMaxTaskSegments);
    const int64_t want = 2 * static_cast<int64_t>(pool.size());
    const int64_t factor = base_tasks >= want ? 1 : (want + base_tasks - 1) / base_tasks;
    n_tasks = 0;
    for (size_t i = 0; i < n_groups; ++i) {
      AttentionWorkspace::Group& g = first[i];
      const int64_t chunks = std::min<int64_t>(g.n_seg, (g.n_seg + kMaxTaskSegments - 1) / kMaxTaskSegments * factor);
      g.span = static_cast<int32_t>((g.n_seg + chunks - 1) / chunks);
      g.n_chunks = static_cast<int32_t>((g.n_seg + g.span - 1) / g.span);
      g.first_task = n_tasks;
      n_tasks += static_cast<int64_t>(s.n_head_kv) * g.n_chunks;
    }
    // Each thread walks its own contiguous share of the tasks (then steals):
    // tasks are ordered head by head, segment by segment, so a thread's
    // reads ascend through each head's pages, which the prefetchers follow
    // (dealt out one by one, every task started a cold stream: decode at
    // depth ran ~30% slower from DRAM).
    auto run_task = [&](int64_t idx, int thread) {
      const auto* g = std::upper_bound(first, first + n_groups, idx,
                                       [](int64_t v, const AttentionWorkspace::Group& e) { return v < e.first_task; }) -
                      1;
      const int64_t local = idx - g->first_task;
      const AttentionRun& run = b.runs[static_cast<size_t>(g->run)];
      AttentionTask t;
      t.batch = &b;
      t.run = &run;
      t.t0 = g->t0;
      t.t1 = g->t1;
      t.kvh = static_cast<int>(local / g->n_chunks);
      const int64_t seg = (local % g->n_chunks) * g->span;
      t.s0 = seg * kAttentionSegment;
      t.n_seg = std::min<int64_t>(g->span, g->n_seg - seg);
      t.seg_out_stride = entry_floats;
      t.seg_stat_stride = s.n_head;
      float* outs[kMaxTaskTokens];
      float* maxes[kMaxTaskTokens];
      double* sums[kMaxTaskTokens];
      for (int64_t u = 0; u < g->t1 - g->t0; ++u) {
        const int64_t tok = g->t0 + u;
        if (run.slot0 + tok >= kAttentionSegment) {
          const int64_t e = g->partial + u * g->n_seg + seg;
          outs[u] = ws.partial_out_.data() + e * entry_floats;
          maxes[u] = ws.partial_max_.data() + e * s.n_head;
          sums[u] = ws.partial_sum_.data() + e * s.n_head;
        } else {
          outs[u] = b.out + (run.row0 + tok) * b.out_stride;
          maxes[u] = nullptr;
          sums[u] = nullptr;
        }
      }
      t.out = outs;
      t.max = maxes;
      t.sum = sums;
      task(t, ws.scratch_.data() + static_cast<int64_t>(thread) * layout.floats);
    };
    pool.for_ranges(n_tasks, [&](int64_t begin, int64_t end, int thread) {
      for (int64_t i = begin; i < end; ++i) run_task(i, thread);
    });
    // Merge the split rows: items are (block, head).
    const int64_t n_merge = static_cast<int64_t>(n_groups) * s.n_head;
    if (used > 0) {
      pool.for_each(n_merge, [&](int64_t item, int) {
        const AttentionWorkspace::Group& g = first[item / s.n_head];
        if (g.partial < 0) return;
        const int h = static_cast<int>(item % s.n_head);
        const AttentionRun& run = b.runs[static_cast<size_t>(g.run)];
        for (int64_t tok = g.t0; tok < g.t1; ++tok) {
          const int64_t slot = run.slot0 + tok;
          if (slot < kAttentionSegment) continue;
          const int64_t e = g.partial + (tok - g.t0) * g.n_seg;
          merge_row(static_cast<int>(segments_for(slot)), ws.partial_out_.data() + e * entry_floats + h * s.head_dim,
                    ws.partial_max_.data() + e * s.n_head + h, ws.partial_sum_.data() + e * s.n_head + h, entry_floats,
                    s.n_head, s.head_dim, b.out + (run.row0 + tok) * b.out_stride + static_cast<int64_t>(h) * s.head_dim);
        }
      });
    }
    g0 = g1;
  }
}

}  // namespace kestrel
