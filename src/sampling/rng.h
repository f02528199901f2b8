// The sampler's random numbers: xoshiro256** seeded through splitmix64, so a
// 32-bit user seed gives a reproducible stream on every platform (std::
// distributions are implementation-defined; this is not). Each consumer (the
// final draw, XTC's coin) gets its own stream from the same seed.
#pragma once

#include <cstdint>

namespace kestrel::sampling {

class Rng {
 public:
  Rng() { seed(0, 0); }
  Rng(uint64_t seed_value, uint64_t stream) { seed(seed_value, stream); }

  void seed(uint64_t seed_value, uint64_t stream) {
    uint64_t z = seed_value ^ (stream * 0xD1B54A32D192ED03ull);
    for (uint64_t& w : s_) w = splitmix64(z);
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [0, 1) as a float (24 random bits), for XTC's coin.
  float uniform_float() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& z) {
    uint64_t r = (z += 0x9E3779B97F4A7C15ull);
    r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
    r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
    return r ^ (r >> 31);
  }
  uint64_t s_[4];
};

}  // namespace kestrel::sampling
