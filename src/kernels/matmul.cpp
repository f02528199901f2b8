// Grouped, dynamically scheduled matrix products (matmul.h).
//
// A call runs in two phases: (1) every distinct activation format the
// group's products need is produced once from x (on the calling thread for
// a single token, else split over the pool by token); (2) the threads
// compute the output rows of the group (both products for SwiGLU). When all
// tokens fit one block (decode, short batches), each thread walks its own
// contiguous part of the rows and steals at the end (ThreadPool::for_ranges).
// Otherwise work items are a chunk of rows times one block of tokens, sized
// so the block's converted activations stay cached while the weight tiles
// stream past (kActBlockBudget); chunks are "guided" (each takes a fixed
// share of the rows still left, so they shrink towards the end and the
// threads finish together), and items are ordered token-block major so the
// threads walk the weights of one block together.
#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/ops.h"
#include "kernels/kernel_registry.h"
#include "kernels/packed.h"

namespace kestrel {
namespace {

constexpr int kMaxOps = 4;
// Bytes of converted activations per token block in prefill. A block is
// read once per weight tile (pair) while the tiles stream past, so it should
// stay cached, but F16/BF16 activations are f32 (4 bytes per element) and
// their kernels widen each tile pair into an f32 panel once per block: with
// 1 MiB the down projection (n_in 8192) ran blocks of 32 tokens and widened
// every tile pair 16 times per 512-token prompt. 4 MiB (twice one core's
// L2; the rest comes from L3 at a rate the kernels do not notice): F16
// pp512 +5-7% at 2 threads on llama-3.2-1b and tinyllama, int8 types
// unchanged (same-process alternation, 2026-11-22).
constexpr size_t kActBlockBudget = size_t(4) << 20;
constexpr int kMaxChunks = 512;       // row chunks per product group
constexpr int64_t kGuidedDivisor = 2;  // a chunk takes 1 / (2 * threads) of the rows left

size_t round64(size_t n) { return (n + 63) / 64 * 64; }

const TypeTraits& act_traits(const WeightMatrix& w) { return type_traits(w.tt->vec_dot_type); }

// How the rows of one product are computed.
struct OpPlan {
  PackedGemmFn gemm = nullptr;  // packed tiles for rows [0, packed_rows)
  int64_t row_unit = 0;         // the kernel's rows per thread piece
  int64_t packed_rows = 0;
  size_t tile_bytes = 0;
  VecDotFn dot = nullptr;       // rows [packed_rows, n_out)
  int tile_act = -1;            // activation set of the tiles
  int row_act = -1;             // activation set of the vec_dot rows
};

// One converted copy of x.
struct ActSet {
  PrepareFn fn = nullptr;  // null: x itself (f32 rows)
  size_t stride = 0;
  const uint8_t* data = nullptr;
};

bool use_packed(const WeightMatrix& w, KernelPath path) {
  return w.packed && path == KernelPath::Auto && use_avx2();
}

// Finds or adds the activation set (fn, stride); returns its index.
int intern_act(ActSet* sets, int& n_sets, PrepareFn fn, size_t stride) {
  for (int i = 0; i < n_sets; ++i) {
    if (sets[i].fn == fn && sets[i].stride == stride) return i;
  }
  sets[n_sets] = {fn, stride, nullptr};
  return n_sets++;
}

// y rows [r0, r1) of one product for tokens [t0, t1).
void compute_rows(const MatmulOp& op, const OpPlan& p, const ActSet* sets, int64_t r0, int64_t r1, int64_t t0,
                  int64_t t1) {
  const WeightMatrix& w = *op.w;
  const int64_t tiles_end = std::min(r1, p.packed_rows);
  if (r0 < tiles_end) {
    const ActSet& a = sets[p.tile_act];
    p.gemm(w.n_in, w.packed_data + (r0 / kPackRows) * p.tile_bytes, (tiles_end - r0) / kPackRows, p.tile_bytes,
           a.data + t0 * a.stride, a.stride, t1 - t0, op.y + t0 * op.ldy + r0, op.ldy, op.accumulate);
  }
  const int64_t rest = std::max(r0, p.packed_rows);
  if (rest < r1) {
    const ActSet& a = sets[p.row_act];
    const auto* wdata = static_cast<const uint8_t*>(w.data);
    const size_t wrb = w.row_bytes();
    const int n_in = static_cast<int>(w.n_in);
    for (int64_t r = rest; r < r1; ++r) {
      for (int64_t t = t0; t < t1; ++t) {
        const float v = p.dot(n_in, wdata + r * wrb, a.data + t * a.stride);
        float& out = op.y[t * op.ldy + r];
        out = op.accumulate ? out + v : v;
      }
    }
  }
}

}  // namespace

size_t matmul_scratch_bytes(std::initializer_list<const WeightMatrix*> ws, int64_t n_tok) {
  size_t total = 0;
  for (const WeightMatrix* w : ws) {
    size_t row = round64(row_bytes(act_traits(*w), w->n_in));
    if (const PackedFormat* f = find_packed_format(w->tt->type)) {
      if (w->n_in % f->act_block == 0) row += packed_act_row_bytes(*f, w->n_in);
    }
    total += row * static_cast<size_t>(n_tok);
  }
  return total;
}

size_t matmul_scratch_bytes(const WeightMatrix& w, int64_t n_tok) { return matmul_scratch_bytes({&w}, n_tok); }

void convert_activations(const WeightMatrix& w, const float* x, int64_t n_tok, void* dst) {
  const TypeTraits& at = act_traits(w);
  const size_t rb = row_bytes(at, w.n_in);
  for (int64_t t = 0; t < n_tok; ++t) {
    at.from_float(x + t * w.n_in, static_cast<uint8_t*>(dst) + t * rb, w.n_in);
  }
}

void dequantize_row(const WeightMatrix& w, int64_t row, float* dst) {
  w.tt->to_float(static_cast<const uint8_t*>(w.data) + row * w.row_bytes(), dst, w.n_in);
}

void matmul_group(std::span<const MatmulOp> ops, const float* x, int64_t n_tok, void* scratch,
                  ThreadPool& pool, KernelPath path, Epilogue epilogue) {
  const int n_ops = static_cast<int>(ops.size());
  if (n_ops < 1 || n_ops > kMaxOps) throw Error("matmul_group: 1 to 4 products per group");
  const int64_t n_in = ops[0].w->n_in;
  if (epilogue == Epilogue::SwiGLU && (n_ops != 2 || ops[0].w->n_out != ops[1].w->n_out)) {
    throw Error("matmul_group: SwiGLU needs two products of equal shape");
  }

  // Plans and the distinct activation sets.
  OpPlan plans[kMaxOps];
  ActSet sets[2 * kMaxOps];
  int n_sets = 0;
  for (int i = 0; i < n_ops; ++i) {
    const WeightMatrix& w = *ops[i].w;
    if (w.n_in != n_in) throw Error("matmul_group: products of one group must share their input size");
    OpPlan& p = plans[i];
    p.dot = path == KernelPath::Scalar ? w.tt->vec_dot_ref : vec_dot_for(*w.tt);
    if (!p.dot) throw Error("matmul: no dot-product kernel for type " + std::string(w.tt->name));
    if (use_packed(w, path)) {
      const PackedGemmEntry* e = find_packed_gemm(w.packed->weight_type, active_isa());
      p.gemm = e->gemm;
      p.row_unit = e->row_unit;
      p.packed_rows = w.n_out / kPackRows * kPackRows;
      p.tile_bytes = kPackRows * w.row_bytes();
      p.tile_act = intern_act(sets, n_sets, w.packed->prepare, packed_act_row_bytes(*w.packed, n_in));
    }
    if (p.packed_rows < w.n_out) {
      const TypeTraits& at = act_traits(w);
      if (at.type == DType::F32) {
        p.row_act = intern_act(sets, n_sets, nullptr, static_cast<size_t>(n_in) * sizeof(float));
      } else {
        const FromFloatFn fn = path == KernelPath::Scalar ? at.from_float : from_float_for(at);
        p.row_act = intern_act(sets, n_sets, fn, round64(row_bytes(at, n_in)));
      }
    }
  }

  // Phase 1: activation conversion.
  auto* dst = static_cast<uint8_t*>(scratch);
  size_t act_row_total = 0;
  for (int s = 0; s < n_sets; ++s) {
    if (!sets[s].fn) {
      sets[s].data = reinterpret_cast<const uint8_t*>(x);
      continue;
    }
    sets[s].data = dst;
    dst += sets[s].stride * static_cast<size_t>(n_tok);
    act_row_total += sets[s].stride;
  }
  auto convert = [&](int64_t t0, int64_t t1) {
    for (int s = 0; s < n_sets; ++s) {
      if (!sets[s].fn) continue;
      auto* out = const_cast<uint8_t*>(sets[s].data);
      for (int64_t t = t0; t < t1; ++t) sets[s].fn(x + t * n_in, out + t * sets[s].stride, n_in);
    }
  };
  constexpr int64_t kConvertRows = 8;  // tokens per conversion item
  pool.for_each((n_tok + kConvertRows - 1) / kConvertRows, [&](int64_t i, int) {
    convert(i * kConvertRows, std::min(n_tok, (i + 1) * kConvertRows));
  });

  // Phase 2. Rows of all products form one space, each product starting on
  // a multiple of unit: the largest row unit of the group's packed formats
  // (the f16 kernel works on tile pairs), else one tile. Smaller pieces let
  // the threads finish closer together (the last piece of a down projection
  // is ~3 us per 8 rows at decode).
  int64_t unit = kPackRows;
  for (int i = 0; i < n_ops; ++i) {
    if (plans[i].gemm) unit = std::max(unit, plans[i].row_unit);
  }
  const int n_seg = epilogue == Epilogue::SwiGLU ? 1 : n_ops;
  int64_t seg_start[kMaxOps + 1] = {0};
  for (int s = 0; s < n_seg; ++s) seg_start[s + 1] = seg_start[s] + (ops[s].w->n_out + unit - 1) / unit * unit;
  const int64_t total_rows = seg_start[n_seg];

  // Rows [row0, row1) of the row space for tokens [t0, t1).
  auto run_rows = [&](int64_t row0, int64_t row1, int64_t t0, int64_t t1) {
    for (int s = 0; s < n_seg; ++s) {
      const int64_t n_out = ops[s].w->n_out;
      const int64_t r0 = std::max(row0, seg_start[s]) - seg_start[s];
      const int64_t r1 = std::min({row1 - seg_start[s], n_out});
      if (r0 >= r1) continue;
      if (epilogue == Epilogue::SwiGLU) {
        compute_rows(ops[0], plans[0], sets, r0, r1, t0, t1);
        compute_rows(ops[1], plans[1], sets, r0, r1, t0, t1);
        for (int64_t t = t0; t < t1; ++t) {
          float* g = ops[0].y + t * ops[0].ldy + r0;
          silu_mul(g, ops[1].y + t * ops[1].ldy + r0, g, r1 - r0);
        }
      } else {
        compute_rows(ops[s], plans[s], sets, r0, r1, t0, t1);
      }
    }
  };

  const int64_t tb_max = std::max<int64_t>(4, static_cast<int64_t>(kActBlockBudget / std::max<size_t>(act_row_total, 1)));
  const int64_t n_tblocks = (n_tok + tb_max - 1) / tb_max;
  if (n_tblocks == 1) {
    // Decode and short batches: each thread streams its own contiguous part
    // of the rows and steals at the end (ThreadPool::for_ranges). Guided
    // chunks handed out alternately cost ~2% of decode kernel time: every
    // chunk restarted a thread's weight stream at a new address.
    pool.for_ranges(total_rows / unit,
                    [&](int64_t u0, int64_t u1, int) { run_rows(u0 * unit, u1 * unit, 0, n_tok); });
    return;
  }
  // Prefill: work items = token blocks x row chunks. Token blocks are whole
  // groups of activation rows for the kernels (4 for int8, 6 for f16). Row
  // chunks are "guided": each takes a share of the rows still left, so the
  // chunks shrink towards the end and the threads finish within one small
  // chunk of each other.
  constexpr int64_t kTokenAlign = 12;
  const int64_t tb = ((n_tok + n_tblocks - 1) / n_tblocks + kTokenAlign - 1) / kTokenAlign * kTokenAlign;
  int64_t bounds[kMaxChunks + 1];
  int n_chunks = 0;
  for (int64_t pos = 0; pos < total_rows; ++n_chunks) {
    bounds[n_chunks] = pos;
    const int64_t share = (total_rows - pos) / (kGuidedDivisor * pool.size());
    pos = n_chunks + 1 == kMaxChunks ? total_rows : std::min(total_rows, pos + std::max(unit, share / unit * unit));
  }
  bounds[n_chunks] = total_rows;
  pool.for_each(n_chunks * n_tblocks, [&](int64_t item, int) {
    const int64_t tblock = item / n_chunks;
    const int c = static_cast<int>(item % n_chunks);
    run_rows(bounds[c], bounds[c + 1], tblock * tb, std::min(n_tok, tblock * tb + tb));
  });
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tok, float* y, int64_t ldy, void* scratch,
            ThreadPool& pool, KernelPath path) {
  const MatmulOp op{&w, y, ldy, false};
  matmul_group({&op, 1}, x, n_tok, scratch, pool, path);
}

}  // namespace kestrel
