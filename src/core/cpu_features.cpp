// CPUID-based detection for cpu_features.h.
#include "core/cpu_features.h"

#include <atomic>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>

namespace kestrel {
namespace {

bool detect_avx2() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool fma = c & (1u << 12);
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  const bool f16c = c & (1u << 29);
  if (!(fma && osxsave && avx && f16c)) return false;
  unsigned xlo, xhi;
  __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  if ((xlo & 6u) != 6u) return false;  // XMM and YMM state enabled by the OS
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return b & (1u << 5);
}

std::atomic<int> g_force_scalar{-1};  // -1: read the environment once

}  // namespace

bool cpu_has_avx2() {
  static const bool has = detect_avx2();
  return has;
}

void set_force_scalar(bool force) { g_force_scalar.store(force ? 1 : 0); }

bool use_avx2() {
  int f = g_force_scalar.load(std::memory_order_relaxed);
  if (f < 0) {
    const char* env = std::getenv("KESTREL_FORCE_SCALAR");
    f = (env && std::strcmp(env, "0") != 0 && *env) ? 1 : 0;
    g_force_scalar.store(f);
  }
  return f == 0 && cpu_has_avx2();
}

}  // namespace kestrel
