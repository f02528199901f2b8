// Lookup with fallback over the per-ISA kernel tables (kernel_registry.h).
#include "kernels/kernel_registry.h"

#include "quant/type_traits.h"

namespace kestrel {

std::span<const PackedGemmEntry> packed_gemms(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return avx2_packed_gemms();
    case Isa::Avx512: return avx512_packed_gemms();
    case Isa::Scalar:
    case Isa::AvxVnni: return {};
  }
  return {};
}

const PackedGemmEntry* find_packed_gemm(DType t, Isa isa) {
  for (int level = static_cast<int>(isa); level > 0; --level) {
    const Isa l = static_cast<Isa>(level);
    if (!cpu_supports(l)) continue;  // e.g. avxvnni on an avx512 CPU without AVX-VNNI
    for (const PackedGemmEntry& e : packed_gemms(l)) {
      if (e.weight_type == t) return &e;
    }
  }
  return nullptr;
}

std::string packed_kernel_summary(Isa isa) {
  std::string out;
  for (int level = static_cast<int>(isa); level > 0; --level) {
    const Isa l = static_cast<Isa>(level);
    std::string types;
    for (const PackedGemmEntry& e : avx2_packed_gemms()) {  // the AVX2 table lists every packed type
      const PackedGemmEntry* got = find_packed_gemm(e.weight_type, isa);
      if (got && got->isa == l) {
        if (!types.empty()) types += ' ';
        types += type_traits(e.weight_type).name;
      }
    }
    if (types.empty()) continue;
    if (!out.empty()) out += "; ";
    out.append(isa_name(l)).append(": ").append(types);
  }
  return out.empty() ? "scalar: every type (vec_dot oracles)" : out;
}

}  // namespace kestrel
