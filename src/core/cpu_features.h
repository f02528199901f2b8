// Run-time CPU feature detection.
//
// Fast kernels are compiled for AVX2/FMA/F16C in separate translation units;
// callers ask here whether the running CPU can execute them. The environment
// variable KESTREL_FORCE_SCALAR=1 forces the scalar path (used by tests and to
// compare the two paths on one machine).
#pragma once

namespace kestrel {

// True when AVX2, FMA and F16C are all present and the OS saves YMM state.
bool cpu_has_avx2();

// True when the fast path should be used: cpu_has_avx2() and not forced off.
bool use_avx2();

// Overrides use_avx2() for the rest of the process (tests flip this).
void set_force_scalar(bool force);

}  // namespace kestrel
