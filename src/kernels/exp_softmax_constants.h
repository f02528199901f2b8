// Constants of exp_softmax (kernels/ops.h), shared by the scalar function
// and its AVX2 twin (kernels/avx2/exp_avx2.h) so both compute the same bits.
//
// Range reduction: x = n ln2 + r with n = round(x log2 e) and ln2 split in
// a high part with trailing zero bits (n * kExpLn2Hi is exact for |n| <=
// 127) and a low correction; |r| <= ln2/2, where the Taylor polynomial of
// degree 7 is within 1e-8 relative of e^r, well below float's half ulp.
#pragma once

namespace kestrel {

inline constexpr float kExpLog2e = 1.44269504088896341f;
inline constexpr float kExpLn2Hi = 0.693145751953125f;      // 0x3f317200
inline constexpr float kExpLn2Lo = 1.42860682030941723e-6f;  // ln2 - kExpLn2Hi
// Outside [min, max] the result is 0 or inf: 2^n stays a normal float.
inline constexpr float kExpSoftmaxMin = -87.0f;
inline constexpr float kExpSoftmaxMax = 88.0f;
// Horner order, highest degree first: 1/7!, 1/6!, ..., 1/2!, 1, 1.
inline constexpr int kExpPolyTerms = 8;
inline constexpr float kExpPoly[kExpPolyTerms] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                                                  1.0f / 6,    0.5f,       1.0f,       1.0f};

}  // namespace kestrel
