// A plain scalar reference forward pass for llama-family models: one
// thread, no SIMD, no KV cache (each position re-attends over the whole
// prefix), written independently of the engine's decoder. It quantizes the
// activations exactly as the engine does (the type table's from_float to the
// weight's vec_dot_type, then the scalar vec_dot oracle), so the optimized
// path must agree with it up to float summation order.
#pragma once

#include <vector>

#include "models/model.h"

namespace kestrel::test {

// Logits for every position of `tokens`: result[t * n_vocab + v].
std::vector<float> reference_forward(const Model& model, const std::vector<TokenId>& tokens);

}  // namespace kestrel::test
