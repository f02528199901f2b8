// Scale searches shared by the quantizers (legacy weighted paths and K-quants).
//
// Each function picks a scale (and for the asymmetric formats a min) for a
// small group of values and writes the group's integer levels. They follow
// the algorithms of llama.cpp's ggml-quants.c (make_qx_quants, make_q3_quants,
// make_qkx2_quants / make_qkx3_quants, make_qp_quants) step for step, including
// the order of floating-point operations, so kestrel's files carry the same
// bits as llama.cpp's wherever the inputs agree. `weights` are per-element
// error weights; where a function accepts nullptr it says what it uses instead.
#pragma once

#include <cstdint>
#include <cstring>

namespace kestrel {

// Groups whose largest magnitude is below this are stored as all zeros.
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, for |x| < 2^22. Adding 1.5*2^23 puts the
// integer part into the low mantissa bits (the FPU rounds it for us); this is
// both faster than lrintf and immune to the current rounding mode. NaN or
// huge inputs give some bounded integer, which every caller then clamps.
inline int nearest_int(float x) {
  const float biased = x + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// Symmetric levels L[i] in [0, 2*nmax) meaning l = L[i] - nmax in [-nmax, nmax).
// The sign of the scale follows the element of largest magnitude so that it
// maps to -nmax (one extra level on that side). rmse_type 0: plain rounding;
// >0: weighted least-squares refinement over 18 nearby scales with weights
// qw (or, when qw is null: 1 -> x^2, 2 -> 1, 3 -> |x|, else sqrt|x|);
// <0: one refinement step only. Returns the scale. (llama.cpp: make_qx_quants)
float search_scale_symmetric(int n, int nmax, const float* x, int8_t* L, int rmse_type,
                             const float* qw);

// Q3_K's symmetric search: levels L[i] in [0, 2*nmax); with do_rmse it
// improves the x^2-weighted fit by moving single levels (at most 5 sweeps).
// (llama.cpp: make_q3_quants)
float search_scale_symmetric_q3(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric levels L[i] in [0, nmax] for x ~ scale * L - the_min (the_min >= 0).
// Tries nstep+1 scales (nmax + rmin + k*rdelta)/(max-min), each followed by a
// weighted least-squares fit of scale and min, keeping the lowest weighted
// error (absolute when use_mad, squared otherwise). weights must not be null.
// Laux is n bytes of scratch. (llama.cpp: make_qkx2_quants / make_qkx3_quants)
float search_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

// Non-negative values (sub-block scales or mins) to levels L[i] in [0, nmax]
// under weights qw (not null): try 9 scales, then move single levels to
// improve the weighted fit. Returns the scale. (llama.cpp: make_qp_quants)
float search_scale_positive(int n, int nmax, const float* x, uint8_t* L, const float* qw);

}  // namespace kestrel
