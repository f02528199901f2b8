// Version text (version.h). build_info.h is generated at build time by
// cmake/BuildInfo.cmake.
#include "version.h"

#include "build_info.h"
#include "core/cpu_features.h"

namespace kestrel::cli {

std::string version_text() {
  std::string isa;
  if (!cpu_has_avx2()) isa = "scalar kernels (this CPU lacks AVX2, FMA or F16C)";
  else if (!use_avx2()) isa = "scalar kernels (AVX2+FMA+F16C detected, forced off by KESTREL_FORCE_SCALAR)";
  else isa = "AVX2+FMA+F16C kernels (detected at run time)";
  return std::string("kestrel commit ") + KESTREL_GIT_COMMIT + " (" + KESTREL_BUILD_TYPE + " build)\nISA: " + isa +
         "\n";
}

}  // namespace kestrel::cli
