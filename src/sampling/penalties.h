// The samplers that remember accepted tokens: repetition / frequency /
// presence penalties over the last N tokens, and DRY ("don't repeat
// yourself"), both with llama.cpp's semantics. Each turns the history into a
// short list of (token, new logit) edits; the chain applies them to whatever
// candidates are present.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kestrel::sampling {

// Fixed-capacity ring of the most recent tokens; at(0) is the newest.
class TokenRing {
 public:
  explicit TokenRing(size_t capacity = 0) : buf_(capacity) {}
  void push(int32_t t);
  size_t size() const { return size_; }
  size_t capacity() const { return buf_.size(); }
  int32_t at(size_t i) const { return buf_[(head_ + buf_.size() - 1 - i) % buf_.size()]; }
  int32_t oldest() const { return at(size_ - 1); }
  void clear() { size_ = head_ = 0; }

 private:
  std::vector<int32_t> buf_;
  size_t size_ = 0;
  size_t head_ = 0;  // next write position
};

class RepetitionPenalties {
 public:
  RepetitionPenalties(int32_t last_n, float repeat, float freq, float present);
  bool active() const { return active_; }
  void accept(int32_t token);
  void reset();
  // The penalised logit of a token seen `count` times (count > 0).
  float apply(float logit, int count) const;
  const std::unordered_map<int32_t, int>& counts() const { return counts_; }

 private:
  bool active_;
  int32_t last_n_;
  float repeat_, freq_, present_;
  TokenRing ring_;
  std::unordered_map<int32_t, int> counts_;
};

// A sequence breaker: a head token and the tokens that follow it in the
// text (tail[0] comes right after the head). An empty tail is a single-token
// breaker.
using DryBreakers = std::unordered_multimap<int32_t, std::vector<int32_t>>;

class Dry {
 public:
  // window: tokens to scan (already resolved from -1); breakers as above.
  Dry(float multiplier, float base, int32_t allowed_length, int32_t window, DryBreakers breakers);
  bool active() const { return active_; }
  void accept(int32_t token);
  void reset() { ring_.clear(); }
  // (token, penalty to subtract) for the current history.
  void penalties(std::vector<std::pair<int32_t, float>>& out);

  // llama.cpp's breaker processing: every vocabulary token whose text
  // contains the breaker string is a single-token breaker; a token whose text
  // ends with a prefix of the string becomes a head whose tail is the
  // tokenization of the rest (at most 20 tokens). Strings are cut to 40 bytes.
  static DryBreakers breakers_from_strings(
      const std::vector<std::string>& strings, int32_t n_vocab,
      const std::function<std::string(int32_t)>& token_to_piece,
      const std::function<std::vector<int32_t>(const std::string&)>& tokenize);
  // Token sequences given head first, as written in the text.
  static DryBreakers breakers_from_sequences(const std::vector<std::vector<int32_t>>& seqs);

 private:
  bool active_;
  float multiplier_, base_;
  int32_t allowed_;
  TokenRing ring_;
  DryBreakers breakers_;
  std::vector<int32_t> rev_;
  std::vector<int32_t> z_;
  std::unordered_map<int32_t, int32_t> max_len_;
};

}  // namespace kestrel::sampling
