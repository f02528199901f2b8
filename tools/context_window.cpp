// Generation history and context shifting by recomputation (context_window.h).
#include "context_window.h"

#include <algorithm>

#include "core/error.h"
#include "core/interrupt.h"

namespace kestrel::cli {

ContextWindow::ContextWindow(Context& ctx, int64_t n_keep, bool shifts)
    : ctx_(ctx), n_keep_(shifts ? n_keep : 0), shifts_(shifts) {
  if (shifts && (n_keep < 0 || n_keep > ctx.n_ctx() - 3)) {
    throw Error("--keep " + std::to_string(n_keep) + " leaves no room to shift a context of " +
                std::to_string(ctx.n_ctx()) + " tokens");
  }
  ctx_.clear();  // the history must mirror the cache from position 0
  tokens_.reserve(static_cast<size_t>(ctx.n_ctx()));
}

void ContextWindow::decode_in_slices(std::span<const TokenId> tokens) {
  const auto slice = static_cast<size_t>(ContextParams{}.n_batch);
  for (size_t b = 0; b < tokens.size(); b += slice) {
    if (b > 0) checkpoint("prefill");
    ctx_.decode(tokens.subspan(b, std::min(slice, tokens.size() - b)), false);
  }
}

void ContextWindow::decode(std::span<const TokenId> tokens) {
  decode_in_slices(tokens);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

int64_t ContextWindow::shift() {
  const int64_t n_past = static_cast<int64_t>(tokens_.size());
  const int64_t n_discard = shifts_ ? (n_past - n_keep_) / 2 : 0;
  if (n_discard <= 0) return 0;
  tokens_.erase(tokens_.begin() + n_keep_, tokens_.begin() + n_keep_ + n_discard);
  ctx_.truncate(n_keep_);
  const std::span<const TokenId> tail(tokens_.data() + n_keep_, tokens_.size() - static_cast<size_t>(n_keep_));
  if (!tail.empty()) decode_in_slices(tail);
  ++n_shifts_;
  n_recomputed_ += static_cast<int64_t>(tail.size());
  return n_discard;
}

int64_t resolve_keep(int64_t keep, int64_t n_prompt, bool starts_with_bos, int64_t n_ctx) {
  int64_t n = keep < 0 ? n_prompt : std::min(n_prompt, keep + (starts_with_bos ? 1 : 0));
  n = std::min(n, n_prompt);
  if (n > n_ctx - 3) {
    throw Error("--keep: keeping " + std::to_string(n) + " tokens leaves no room to shift a context of " +
                std::to_string(n_ctx) + " tokens (lower --keep or raise -c)");
  }
  return n;
}

}  // namespace kestrel::cli
