// Version text (version.h). build_info.h is generated at build time by
// cmake/BuildInfo.cmake.
#include "version.h"

#include "build_info.h"
#include "core/cpu_features.h"
#include "kernels/kernel_registry.h"

namespace kestrel::cli {

std::string version_text() {
  std::string isa;
  const Isa active = active_isa();
  isa.append(isa_name(active)).append(" (this CPU supports: ").append(supported_isa_list());
  isa += active == best_isa() ? "; KESTREL_ISA=<level> picks a lower one)" : "; chosen by KESTREL_ISA)";
  std::string out = "kestrel commit ";
  out.append(KESTREL_GIT_COMMIT).append(" (").append(KESTREL_BUILD_TYPE).append(" build)\nISA: ").append(isa);
  out.append("\nmatrix kernels: ").append(packed_kernel_summary(active)).append("\n");
  return out;
}

}  // namespace kestrel::cli
