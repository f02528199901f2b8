// Shared helpers for the kernel tests: a seeded RNG, random valid blocks of
// every quantized format (including extreme bytes), and an exact
// sum|w_i * a_i| used to scale the comparison tolerance.
//
// "Valid" means every byte pattern a GGUF file could hold, except that the
// fp16/f32 scale fields are finite (random bits would give inf/NaN) and the
// derived activation fields are consistent (Q8_1's s = d * sum(q), Q8_K's
// bsums = group sums of qs), as every activation quantizer guarantees.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "quant/blocks.h"
#include "quant/type_traits.h"

namespace kestrel::test {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen_); }
  float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(gen_); }
  uint8_t byte() { return static_cast<uint8_t>(gen_() & 0xFF); }
  int below(int n) { return static_cast<int>(gen_() % static_cast<uint64_t>(n)); }

 private:
  std::mt19937_64 gen_;
};

// How the quant bytes of a random block are chosen.
enum class Fill {
  Random,  // uniform random bytes
  AllMax,  // every quant byte 0xFF: all-max nibbles / bit fields, int8 -1
  AllMin,  // every quant byte 0x00 (int8 0, nibbles 0: the most negative level)
  Int8Min, // int8 quants at -128 (0x80 bytes elsewhere)
};

inline std::vector<float> random_floats(Rng& rng, int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * rng.normal();
  return v;
}

inline void fill_bytes(Rng& rng, uint8_t* p, size_t n, Fill fill) {
  for (size_t i = 0; i < n; ++i) {
    switch (fill) {
      case Fill::Random: p[i] = rng.byte(); break;
      case Fill::AllMax: p[i] = 0xFF; break;
      case Fill::AllMin: p[i] = 0x00; break;
      case Fill::Int8Min: p[i] = 0x80; break;
    }
  }
}

// A finite fp16 scale; `big` picks magnitudes up to 60000 (near fp16 max).
inline uint16_t random_half(Rng& rng, bool big) {
  const float mag = big ? rng.uniform(1000.0f, 60000.0f) : rng.uniform(1e-3f, 2.0f);
  return fp32_to_fp16(rng.below(2) ? mag : -mag);
}

// n elements of a random block-format row of type t (a weight or an
// activation format), scale fields finite, derived fields consistent.
inline std::vector<uint8_t> random_row(Rng& rng, DType t, int64_t n, Fill fill, bool big_scales) {
  const TypeTraits& tt = type_traits(t);
  const int64_t nb = n / tt.block_size;
  std::vector<uint8_t> row(row_bytes(tt, n));
  fill_bytes(rng, row.data(), row.size(), fill);
  auto half = [&](uint16_t& h) { h = random_half(rng, big_scales); };
  for (int64_t i = 0; i < nb; ++i) {
    uint8_t* p = row.data() + i * tt.block_bytes;
    switch (t) {
      case DType::Q4_0: half(reinterpret_cast<BlockQ4_0*>(p)->d); break;
      case DType::Q5_0: half(reinterpret_cast<BlockQ5_0*>(p)->d); break;
      case DType::Q8_0: half(reinterpret_cast<BlockQ8_0*>(p)->d); break;
      case DType::Q4_1: {
        auto* b = reinterpret_cast<BlockQ4_1*>(p);
        half(b->d);
        half(b->m);
        break;
      }
      case DType::Q5_1: {
        auto* b = reinterpret_cast<BlockQ5_1*>(p);
        half(b->d);
        half(b->m);
        break;
      }
      case DType::Q8_1: {
        auto* b = reinterpret_cast<BlockQ8_1*>(p);
        b->d = random_half(rng, false);  // keeps s = d * sum(q) finite in fp16
        int sum = 0;
        for (int8_t q : b->qs) sum += q;
        b->s = fp32_to_fp16(fp16_to_fp32(b->d) * static_cast<float>(sum));
        break;
      }
      case DType::Q2_K: {
        auto* b = reinterpret_cast<BlockQ2_K*>(p);
        half(b->d);
        half(b->dmin);
        break;
      }
      case DType::Q3_K: half(reinterpret_cast<BlockQ3_K*>(p)->d); break;
      case DType::Q4_K: {
        auto* b = reinterpret_cast<BlockQ4_K*>(p);
        half(b->d);
        half(b->dmin);
        break;
      }
      case DType::Q5_K: {
        auto* b = reinterpret_cast<BlockQ5_K*>(p);
        half(b->d);
        half(b->dmin);
        break;
      }
      case DType::Q6_K: half(reinterpret_cast<BlockQ6_K*>(p)->d); break;
      case DType::Q8_K: {
        auto* b = reinterpret_cast<BlockQ8_K*>(p);
        b->d = big_scales ? rng.uniform(1.0f, 100.0f) : rng.uniform(1e-4f, 0.05f);
        for (int g = 0; g < QK_K / 16; ++g) {
          int sum = 0;
          for (int l = 0; l < 16; ++l) sum += b->qs[16 * g + l];
          b->bsums[g] = static_cast<int16_t>(sum);
        }
        break;
      }
      case DType::F16:
      case DType::BF16:
      case DType::F32: break;  // handled below: random finite floats
    }
  }
  if (!tt.is_quantized) {
    // Float rows: random values (the fill patterns only matter for quants).
    std::vector<float> f = random_floats(rng, n, big_scales ? 100.0f : 1.0f);
    tt.from_float(f.data(), row.data(), n);
  }
  return row;
}

// sum_i |w_i * a_i| in double from the dequantized rows: the natural scale
// for the rounding error of a dot product.
inline double abs_dot(DType wt, const void* w, DType at, const void* a, int64_t n) {
  std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
  type_traits(wt).to_float(w, wf.data(), n);
  type_traits(at).to_float(a, af.data(), n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[i]) * af[i]);
  return s;
}

// sum_i w_i * a_i in double from the dequantized rows: an independent check
// of the oracle's reading of the formats.
inline double dequantized_dot(DType wt, const void* w, DType at, const void* a, int64_t n) {
  std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
  type_traits(wt).to_float(w, wf.data(), n);
  type_traits(at).to_float(a, af.data(), n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(wf[i]) * af[i];
  return s;
}

}  // namespace kestrel::test
