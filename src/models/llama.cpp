// Architecture "llama": Llama 1/2/3, Mistral, TinyLlama, SmolLM.
//
// Plain llama-family decoder; GGUF llama files store Q/K rows already
// permuted for llama.cpp's adjacent-pair RoPE, so no re-permutation here.
// Llama-3.1 frequency factors come from the optional `rope_freqs` tensor.
#include "models/architecture.h"
#include "models/decoder.h"

namespace kestrel {
const ArchSpec kLlamaArch{"llama", RopeStyle::Adjacent, /*qkv_bias=*/false, llama_family_forward};
}
