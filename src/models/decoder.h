// The llama-family decoder forward pass (pre-norm attention + SwiGLU
// blocks), shared by every architecture whose differences are data in
// ArchSpec / ModelConfig (RoPE style, Q/K/V biases): llama, qwen2.
#pragma once

#include "models/forward.h"

namespace kestrel {

void llama_family_forward(const Model& model, const ForwardBatch& batch, const KvCache& kv, Workspace& ws,
                          const ForwardOutputs& out, const ForwardEnv& env);

}  // namespace kestrel
