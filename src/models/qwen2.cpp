// Architecture "qwen2": Qwen2 / Qwen2.5 dense models.
//
// Same decoder as llama with biases on the Q, K and V projections and
// NeoX-style RoPE (dimension i pairs with i + n_rot/2).
#include "models/architecture.h"
#include "models/decoder.h"

namespace kestrel {
const ArchSpec kQwen2Arch{"qwen2", RopeStyle::Halves, /*qkv_bias=*/true, llama_family_forward};
}
