// Synthetic models: real architectures' shapes with seeded random weights.
//
// `kestrel synth` writes these so speed can be measured without downloading
// a model, and tests build tiny ones in-process. The vocabulary is either
// copied from another GGUF (--vocab) or generated: SentencePiece-style with
// <unk>/<s>/</s>, the 256 byte tokens and synthetic pieces up to the shape's
// vocabulary size. Tensor types follow llama.cpp's choices for the file
// type unless `pure`.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "models/quant_policy.h"

namespace kestrel {

struct SynthShape {
  std::string_view name;
  std::string_view arch;
  int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
  float rope_base, rms_eps;
  bool tied;           // no output.weight
  bool llama3_rope;    // write Llama-3.1 rope_freqs factors (factor 32, original ctx 8192)
};

std::span<const SynthShape> all_synth_shapes();
const SynthShape* find_synth_shape(std::string_view name);

struct SynthOptions {
  const SynthShape* shape = nullptr;
  const FileTypeInfo* file_type = nullptr;
  bool pure = false;
  std::string vocab_path;   // copy tokenizer.* from this GGUF (empty: generate)
  uint64_t seed = 42;
  int n_threads = 0;
  // Called after each tensor is generated (the CLI draws a progress bar).
  std::function<void(size_t done, size_t total, std::string_view tensor)> on_progress;
};

// Builds the model and writes it to `path` (via a temporary file + rename).
// A signal (core/interrupt.h) stops it between tensors or during the write,
// leaving nothing behind.
void write_synthetic_model(const SynthOptions& opt, const std::string& path);

}  // namespace kestrel
