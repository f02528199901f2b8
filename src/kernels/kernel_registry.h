// The per-ISA kernel registry: which packed tile kernel (kernels/packed.h)
// each instruction set level provides for each weight type.
//
// Every ISA folder (src/kernels/avx2, src/kernels/avx512, ...) has one
// registry_<isa>.cpp listing its kernels; a new kernel is a row there. The
// packed layouts and activation conversions (packed.h) are format facts
// shared by all levels. find_packed_gemm() asks the active level first and
// falls back to the next lower level the CPU supports, so a level may
// provide only the kernels where it is faster; the entry says which level
// served it (tests and `kestrel --version` show the fallbacks).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/packed.h"

namespace kestrel {

struct PackedGemmEntry {
  DType weight_type;
  PackedGemmFn gemm;
  // Rows per piece when output rows are shared out between threads: a
  // multiple of the tile's 8, more where the kernel works on tile groups.
  int64_t row_unit;
  Isa isa;  // the level that provides it (filled in by the registry)
};

// The kernels one level provides itself (empty for scalar: the scalar path
// is the vec_dot oracles).
std::span<const PackedGemmEntry> packed_gemms(Isa isa);

// The kernel for weight type t at level `isa` or the nearest lower level
// the CPU supports; nullptr when none (scalar, or a type without a packed
// format).
const PackedGemmEntry* find_packed_gemm(DType t, Isa isa);

// Which level serves each packed type at `isa`, e.g. "avx512: q4_0 q8_0;
// avx2: q4_1 ..." (kestrel --version, bench).
std::string packed_kernel_summary(Isa isa);

// Per-ISA tables, defined in each ISA folder's registry file.
std::span<const PackedGemmEntry> avx2_packed_gemms();
std::span<const PackedGemmEntry> avx512_packed_gemms();

}  // namespace kestrel
