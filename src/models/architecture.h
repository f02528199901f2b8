// The table of architectures kestrel can run.
//
// Each architecture file (llama.cpp, qwen2.cpp, ...) contributes one
// ArchSpec row: how its GGUF keys and tensors map onto a forward pass
// (models/forward.h), today the shared llama-family decoder (decoder.h).
// Adding an architecture that fits the decoder is one new file plus one
// row in architectures.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "kernels/ops.h"
#include "models/forward.h"

namespace kestrel {

struct ArchSpec {
  std::string_view name;        // general.architecture value
  RopeStyle rope_style;         // how llama.cpp rotates this architecture's heads
  bool qkv_bias;                // Q/K/V projections carry bias vectors
  ForwardFn forward;            // the forward pass over (batch, KV cache, workspace, outputs)
};

extern const ArchSpec kLlamaArch;
extern const ArchSpec kQwen2Arch;

std::span<const ArchSpec* const> all_architectures();
const ArchSpec* find_architecture(std::string_view name);
std::string supported_architecture_list();  // "llama, qwen2"

}  // namespace kestrel
