// A forward batch: tokens of any number of sequences, each with its
// sequence id, position and what to output, plus optional candidate-tree
// visibility.
//
// A sequence's tokens must be consecutive in the batch (one run per
// sequence). A plain token sits at the sequence's next position and sees
// everything before it. A tree token (add_tree) may sit at any position
// (its depth in the tree) and sees its sequence's cache as it was before
// this batch, the earlier batch tokens it lists, and itself: several
// branches of one draft are verified in one forward pass, each getting the
// logits of its own linear decode. Capacity is fixed at construction;
// adding past it is an error, so filling a batch never allocates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kestrel {

// What a token of the batch outputs (bit flags).
enum Output : uint8_t {
  kOutputNone = 0,
  kOutputLogits = 1,
  kOutputHidden = 2,  // the residual stream after the engine's capture layers
};

class Batch {
 public:
  explicit Batch(int64_t capacity = 512);

  void clear();
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t capacity() const { return capacity_; }

  void add(TokenId token, int32_t seq, int32_t pos, uint8_t outputs = kOutputNone);
  // sees: batch indices of earlier tokens of the same sequence.
  void add_tree(TokenId token, int32_t seq, int32_t pos, uint8_t outputs, std::span<const int32_t> sees);

  TokenId token(int64_t i) const { return tokens_[static_cast<size_t>(i)]; }
  int32_t seq(int64_t i) const { return seqs_[static_cast<size_t>(i)]; }
  int32_t pos(int64_t i) const { return pos_[static_cast<size_t>(i)]; }
  uint8_t outputs(int64_t i) const { return outputs_[static_cast<size_t>(i)]; }
  bool is_tree(int64_t i) const { return sees_begin_[static_cast<size_t>(i)] >= 0; }
  std::span<const int32_t> sees(int64_t i) const;
  const TokenId* tokens() const { return tokens_.data(); }
  const int32_t* positions() const { return pos_.data(); }

 private:
  int64_t capacity_;
  std::vector<TokenId> tokens_;
  std::vector<int32_t> seqs_, pos_;
  std::vector<uint8_t> outputs_;
  std::vector<int32_t> sees_begin_, sees_end_;  // into sees_, -1: a plain token
  std::vector<int32_t> sees_;
};

}  // namespace kestrel
