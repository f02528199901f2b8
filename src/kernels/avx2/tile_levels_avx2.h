// AVX2 unpacking of the transcoded level layouts that several packed tile
// formats share (layouts in kernels/packed.cpp).
//
// Include ONLY from translation units under src/kernels/avx2/ (compiled
// with -mavx2): everything here is inline in kestrel::avx2.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/avx2/simd_avx2.h"

namespace kestrel::avx2 {

// Bits of each byte of x >> Shift (a 16-bit shift) under Mask: callers pick
// masks that exclude the bits the shift pulls in from the neighbouring byte.
template <int Shift, int Mask>
inline __m256i bits(__m256i x) {
  return _mm256_and_si256(_mm256_srli_epi16(x, Shift), _mm256_set1_epi8(static_cast<char>(Mask)));
}

// The 5-bit layout (q5_Kx8 sub-blocks, q5_0x8 / q5_1x8 blocks): 5 vectors
// V0..V4 at v; bits 0-4 of Vj are element vector Ej (elements 4j..4j+3 of
// every row, values 0..31) and bits 5-7 hold, 3 at a time, the 15 bits of
// E5 | E6 << 5 | E7 << 10. 23 operations for the 8 vectors.
inline void values5_x8(const uint8_t* v, __m256i (&e)[8]) {
  const __m256i v0 = load_u256(v), v1 = load_u256(v + 32), v2 = load_u256(v + 64);
  const __m256i v3 = load_u256(v + 96), v4 = load_u256(v + 128);
  const __m256i m5 = _mm256_set1_epi8(0x1F);
  e[0] = _mm256_and_si256(v0, m5);
  e[1] = _mm256_and_si256(v1, m5);
  e[2] = _mm256_and_si256(v2, m5);
  e[3] = _mm256_and_si256(v3, m5);
  e[4] = _mm256_and_si256(v4, m5);
  e[5] = _mm256_or_si256(bits<5, 0x07>(v0), bits<2, 0x18>(v1));
  e[6] = _mm256_or_si256(_mm256_or_si256(bits<7, 0x01>(v1), bits<4, 0x0E>(v2)), bits<1, 0x10>(v3));
  e[7] = _mm256_or_si256(bits<6, 0x03>(v3), bits<3, 0x1C>(v4));
}

// sum_j Ej . a[4j..4j+3] for values 0..31: two int16 sums of 4 maddubs
// (4 * 2 * 31 * 128 = 31744 < 2^15), each widened by madd with `scale`
// (int16 pairs: the sub-block scale, or ones).
inline __m256i dot_values5_x8(const __m256i (&e)[8], const int8_t* a, __m256i scale) {
  auto four = [&](int j) {
    const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(e[j], bcast_i32(a + 4 * j)),
                                         _mm256_maddubs_epi16(e[j + 1], bcast_i32(a + 4 * j + 4)));
    const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(e[j + 2], bcast_i32(a + 4 * j + 8)),
                                         _mm256_maddubs_epi16(e[j + 3], bcast_i32(a + 4 * j + 12)));
    return _mm256_madd_epi16(_mm256_add_epi16(s01, s23), scale);
  };
  return _mm256_add_epi32(four(0), four(4));
}

}  // namespace kestrel::avx2
