// Batch (batch.h).
#include "runtime/batch.h"

#include <string>

#include "core/error.h"

namespace kestrel {

Batch::Batch(int64_t capacity) : capacity_(capacity) {
  if (capacity < 1) throw Error("a batch holds at least one token");
  const auto n = static_cast<size_t>(capacity);
  tokens_.reserve(n);
  seqs_.reserve(n);
  pos_.reserve(n);
  outputs_.reserve(n);
  sees_begin_.reserve(n);
  sees_end_.reserve(n);
  sees_.reserve(4 * n);  // tree drafts list a few ancestors per token
}

void Batch::clear() {
  tokens_.clear();
  seqs_.clear();
  pos_.clear();
  outputs_.clear();
  sees_begin_.clear();
  sees_end_.clear();
  sees_.clear();
}

void Batch::add(TokenId token, int32_t seq, int32_t pos, uint8_t outputs) {
  if (size() >= capacity_) throw Error("batch is full (" + std::to_string(capacity_) + " tokens)");
  tokens_.push_back(token);
  seqs_.push_back(seq);
  pos_.push_back(pos);
  outputs_.push_back(outputs);
  sees_begin_.push_back(-1);
  sees_end_.push_back(-1);
}

void Batch::add_tree(TokenId token, int32_t seq, int32_t pos, uint8_t outputs, std::span<const int32_t> sees) {
  add(token, seq, pos, outputs);
  sees_begin_.back() = static_cast<int32_t>(sees_.size());
  sees_.insert(sees_.end(), sees.begin(), sees.end());
  sees_end_.back() = static_cast<int32_t>(sees_.size());
}

std::span<const int32_t> Batch::sees(int64_t i) const {
  const auto k = static_cast<size_t>(i);
  if (sees_begin_[k] < 0) return {};
  return {sees_.data() + sees_begin_[k], static_cast<size_t>(sees_end_[k] - sees_begin_[k])};
}

}  // namespace kestrel
