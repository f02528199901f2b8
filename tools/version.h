// `kestrel --version`: what was built and what this CPU will run.
#pragma once

#include <string>

namespace kestrel::cli {

// "kestrel commit 1a2b3c4d5e6f (Release build)\nISA: ...\n": the git commit
// of the build (with -dirty for uncommitted changes), the build type, and
// the instruction set the kernels use on this CPU (AVX2+FMA+F16C or the
// scalar path, and why).
std::string version_text();

}  // namespace kestrel::cli
