// Run-time CPU feature detection and the instruction set kernels run with.
//
// Fast kernels are compiled per ISA in their own folders (src/kernels/avx2,
// src/kernels/avx512, ...; each with its target flags) and chosen at run
// time: one binary runs on any x86-64 CPU. The ISAs form a ladder, each
// level a superset of the ones below it on the CPUs that have it:
//   scalar  plain x86-64
//   avx2    AVX2 + FMA + F16C
//   avxvnni avx2 + AVX-VNNI (256-bit vpdpbusd, VEX-encoded)
//   avx512  avx2 + AVX-512 F/BW/VL/DQ + VNNI (512-bit vpdpbusd)
// A kernel table missing an entry at the active level falls back to the
// next lower level the CPU supports (avx512 CPUs without AVX-VNNI, such as
// Ice Lake-SP, skip avxvnni).
//
// The active level is the best the CPU supports, unless KESTREL_ISA names
// one (an unsupported or unknown name is an error when first asked), or
// KESTREL_FORCE_SCALAR=1 (the older spelling of KESTREL_ISA=scalar).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kestrel {

enum class Isa : uint8_t { Scalar, Avx2, AvxVnni, Avx512 };
constexpr int kIsaCount = 4;

std::string_view isa_name(Isa isa);            // "scalar", "avx2", "avxvnni", "avx512"
bool parse_isa(std::string_view name, Isa& out);

// Whether the running CPU (and OS register state) can execute isa's code.
bool cpu_supports(Isa isa);
Isa best_isa();                               // the highest level cpu_supports
bool cpu_has_avx512_bf16();                   // AVX512_BF16 (vdpbf16ps) beside avx512

// The level kernels run at (see above). Throws kestrel::Error when
// KESTREL_ISA is unknown or names a level this CPU lacks.
Isa active_isa();
// Sets the active level for the rest of the process (tests, --isa flags);
// throws kestrel::Error when the CPU lacks it.
void set_active_isa(Isa isa);
// Every level this CPU supports, lowest first, e.g. "scalar avx2 avx512".
std::string supported_isa_list();

// True when AVX2, FMA and F16C are all present and the OS saves YMM state.
bool cpu_has_avx2();
// True when the active level is avx2 or above.
bool use_avx2();
// set_active_isa(force ? scalar : best_isa()) (older tests flip this).
void set_force_scalar(bool force);

}  // namespace kestrel
