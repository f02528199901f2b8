// The tokens a generation keeps in a Context, and llama.cpp's
// --context-shift for when they no longer fit.
//
// llama.cpp shifts the KV cache: it drops the oldest half of the tokens
// after the first n_keep and moves the rest down by re-rotating their keys.
// kestrel's Context has no such operation (its public API is clear,
// truncate, decode), so shift() recomputes instead: it truncates the cache
// to n_keep and decodes the kept tail again at its new positions. The
// result is what a fresh context given the shortened sequence would hold
// (llama.cpp's re-rotated cache only approximates that), at the price of
// re-evaluating up to half a context per shift.
//
// decode() feeds long inputs in slices of n_batch tokens with a
// checkpoint() between them, so a signal during a long prompt is noticed
// without waiting for the whole prefill; the slices are the chunks the
// Context would cut anyway, so the result is the same.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/context.h"

namespace kestrel::cli {

class ContextWindow {
 public:
  // n_keep: tokens at the start that a shift never drops (0 <= n_keep <=
  // n_ctx - 3, so a shift always frees at least one position). Without
  // `shifts` (no --context-shift) n_keep is ignored and shift() does nothing,
  // so any context size, however small, is accepted.
  ContextWindow(Context& ctx, int64_t n_keep, bool shifts = true);

  // Appends tokens to the context (and to the history that shift() keeps).
  void decode(std::span<const TokenId> tokens);
  // Drops half of the tokens after the first n_keep (the oldest ones) and
  // re-evaluates the rest; returns how many were dropped (0 when fewer than
  // two tokens follow the kept ones).
  int64_t shift();

  std::span<const TokenId> tokens() const { return tokens_; }
  int64_t n_keep() const { return n_keep_; }
  int64_t n_shifts() const { return n_shifts_; }
  int64_t n_recomputed() const { return n_recomputed_; }

 private:
  void decode_in_slices(std::span<const TokenId> tokens);
  Context& ctx_;
  int64_t n_keep_;
  bool shifts_;
  std::vector<TokenId> tokens_;  // exactly what the context holds, in order
  int64_t n_shifts_ = 0, n_recomputed_ = 0;
};

// The --keep value as a token count: `keep` prompt tokens after BOS (llama.cpp
// always keeps BOS too), -1 for the whole prompt, capped at the prompt.
// Throws kestrel::Error when the kept tokens leave no room to shift.
int64_t resolve_keep(int64_t keep, int64_t n_prompt, bool starts_with_bos, int64_t n_ctx);

}  // namespace kestrel::cli
