// CPUID-based detection and the active ISA for cpu_features.h.
#include "core/cpu_features.h"

#include <atomic>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace kestrel {
namespace {

struct Features {
  bool avx2 = false, avxvnni = false, avx512 = false, avx512_bf16 = false;
};

uint64_t xcr0() {
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

Features detect() {
  Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!(fma && osxsave && avx && f16c)) return f;
  const uint64_t xcr = xcr0();
  if ((xcr & 6u) != 6u) return f;  // XMM and YMM state enabled by the OS
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = b & (1u << 5);
  if (!f.avx2) return f;
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31), avx512vnni = c & (1u << 11);
  const bool zmm_state = (xcr & 0xE0u) == 0xE0u;  // opmask, upper ZMM0-15, ZMM16-31
  f.avx512 = avx512f && avx512dq && avx512bw && avx512vl && avx512vnni && zmm_state;
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
  f.avxvnni = a1 & (1u << 4);
  f.avx512_bf16 = f.avx512 && (a1 & (1u << 5));
  return f;
}

const Features& features() {
  static const Features f = detect();
  return f;
}

// -1: not decided yet (read the environment on first use).
std::atomic<int> g_active{-1};

Isa isa_from_environment() {
  if (const char* env = std::getenv("KESTREL_ISA"); env && *env) {
    Isa isa;
    if (!parse_isa(env, isa)) {
      throw Error(std::string("KESTREL_ISA=") + env + ": unknown instruction set (one of scalar, avx2, avxvnni, avx512)");
    }
    if (!cpu_supports(isa)) {
      throw Error(std::string("KESTREL_ISA=") + env + ": this CPU does not support it (it supports: " +
                  supported_isa_list() + ")");
    }
    return isa;
  }
  const char* scalar = std::getenv("KESTREL_FORCE_SCALAR");
  if (scalar && *scalar && std::strcmp(scalar, "0") != 0) return Isa::Scalar;
  return best_isa();
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::AvxVnni: return "avxvnni";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

bool parse_isa(std::string_view name, Isa& out) {
  for (int i = 0; i < kIsaCount; ++i) {
    if (name == isa_name(static_cast<Isa>(i))) {
      out = static_cast<Isa>(i);
      return true;
    }
  }
  return false;
}

bool cpu_supports(Isa isa) {
  const Features& f = features();
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return f.avx2;
    case Isa::AvxVnni: return f.avxvnni;
    case Isa::Avx512: return f.avx512;
  }
  return false;
}

Isa best_isa() {
  for (int i = kIsaCount - 1; i > 0; --i) {
    if (cpu_supports(static_cast<Isa>(i))) return static_cast<Isa>(i);
  }
  return Isa::Scalar;
}

bool cpu_has_avx512_bf16() { return features().avx512_bf16; }

std::string supported_isa_list() {
  std::string s;
  for (int i = 0; i < kIsaCount; ++i) {
    if (!cpu_supports(static_cast<Isa>(i))) continue;
    if (!s.empty()) s += ' ';
    s += isa_name(static_cast<Isa>(i));
  }
  return s;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(isa_from_environment());
    g_active.store(v);
  }
  return static_cast<Isa>(v);
}

void set_active_isa(Isa isa) {
  if (!cpu_supports(isa)) {
    throw Error("instruction set " + std::string(isa_name(isa)) + " is not supported by this CPU (it supports: " +
                supported_isa_list() + ")");
  }
  g_active.store(static_cast<int>(isa));
}

bool cpu_has_avx2() { return features().avx2; }

bool use_avx2() { return active_isa() >= Isa::Avx2; }

void set_force_scalar(bool force) { set_active_isa(force ? Isa::Scalar : best_isa()); }

}  // namespace kestrel
