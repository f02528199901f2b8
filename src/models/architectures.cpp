// The architecture table (architecture.h).
#include <array>

#include "models/architecture.h"

namespace kestrel {
namespace {
const std::array<const ArchSpec*, 2> kArchitectures = {&kLlamaArch, &kQwen2Arch};
}

std::span<const ArchSpec* const> all_architectures() { return kArchitectures; }

const ArchSpec* find_architecture(std::string_view name) {
  for (const ArchSpec* a : kArchitectures) {
    if (a->name == name) return a;
  }
  return nullptr;
}

std::string supported_architecture_list() {
  std::string s;
  for (const ArchSpec* a : kArchitectures) {
    if (!s.empty()) s += ", ";
    s += a->name;
  }
  return s;
}

}  // namespace kestrel
