// Repetition penalties and DRY (see penalties.h).
#include "sampling/penalties.h"

#include <algorithm>
#include <cmath>

namespace kestrel::sampling {

void TokenRing::push(int32_t t) {
  if (buf_.empty()) return;
  buf_[head_] = t;
  head_ = (head_ + 1) % buf_.size();
  size_ = std::min(size_ + 1, buf_.size());
}

RepetitionPenalties::RepetitionPenalties(int32_t last_n, float repeat, float freq, float present)
    : last_n_(std::max(last_n, 0)), repeat_(repeat), freq_(freq), present_(present),
      ring_(static_cast<size_t>(std::max(last_n, 0))) {
  active_ = last_n_ != 0 && !(repeat == 1.0f && freq == 0.0f && present == 0.0f);
}

void RepetitionPenalties::accept(int32_t token) {
  if (!active_) return;
  if (ring_.size() == ring_.capacity()) {
    const int32_t old = ring_.oldest();
    if (--counts_[old] == 0) counts_.erase(old);
  }
  ++counts_[token];
  ring_.push(token);
}

void RepetitionPenalties::reset() {
  ring_.clear();
  counts_.clear();
}

float RepetitionPenalties::apply(float logit, int count) const {
  // Multiplying a negative logit (instead of dividing) keeps the penalty a
  // penalty, as llama.cpp does.
  logit = logit <= 0 ? logit * repeat_ : logit / repeat_;
  return logit - (static_cast<float>(count) * freq_ + present_);
}

Dry::Dry(float multiplier, float base, int32_t allowed_length, int32_t window, DryBreakers breakers)
    : multiplier_(multiplier), base_(base), allowed_(allowed_length),
      ring_(static_cast<size_t>(std::max(window, 0))), breakers_(std::move(breakers)) {
  active_ = multiplier != 0.0f && base >= 1.0f && window > 0;
}

void Dry::accept(int32_t token) {
  if (active_) ring_.push(token);
}

void Dry::penalties(std::vector<std::pair<int32_t, float>>& out) {
  out.clear();
  if (!active_) return;
  const int n = static_cast<int>(ring_.size());
  if (n <= allowed_) return;
  rev_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) rev_[static_cast<size_t>(i)] = ring_.at(static_cast<size_t>(i));

  // 1. The most recent breaker limits how far back a repetition may reach.
  int rep_limit = n;
  for (int i = 0; i < n; ++i) {
    auto range = breakers_.equal_range(rev_[static_cast<size_t>(i)]);
    int longest = -1;
    for (auto it = range.first; it != range.second; ++it) {
      const int len = static_cast<int>(it->second.size());
      if (len <= longest || len > i) continue;
      bool match = true;
      for (int o = 0; o < len && match; ++o) match = it->second[static_cast<size_t>(o)] == rev_[static_cast<size_t>(i - o - 1)];
      if (match) longest = len;
    }
    if (longest >= 0) {
      rep_limit = i - longest;
      break;
    }
  }
  if (rep_limit < allowed_) return;

  // 2. Z-array of the reversed history: z[k] = length of the common prefix
  // of rev and rev[k..], i.e. how far the text ending k tokens ago repeats
  // the text ending now.
  z_.assign(static_cast<size_t>(n), 0);
  for (int k = 1, l = 0, r = 0; k < n; ++k) {
    int len = 0;
    if (k < r) len = std::min(r - k, z_[static_cast<size_t>(k - l)]);
    while (k + len < n && rev_[static_cast<size_t>(len)] == rev_[static_cast<size_t>(k + len)]) ++len;
    z_[static_cast<size_t>(k)] = len;
    if (k + len > r) {
      l = k;
      r = k + len;
    }
  }

  // 3. A repeat of length L ending k tokens ago was followed by rev[k-1];
  // emitting that token now would extend the repeat.
  max_len_.clear();
  for (int k = 1; k < n; ++k) {
    const int len = std::min(z_[static_cast<size_t>(k)], rep_limit);
    if (len < allowed_) continue;
    int32_t& best = max_len_[rev_[static_cast<size_t>(k - 1)]];
    best = std::max(best, len);
  }

  // 4. Penalty multiplier * base^(L - allowed), the exponent capped so the
  // power stays finite.
  int max_exponent = 0;
  if (base_ > 1.000001f) max_exponent = static_cast<int>(88.7228391f / std::log(base_));
  for (const auto& [token, len] : max_len_) {
    bool single_breaker = false;
    auto range = breakers_.equal_range(token);
    for (auto it = range.first; it != range.second; ++it) single_breaker |= it->second.empty();
    if (single_breaker) continue;
    int exponent = len - allowed_;
    if (max_exponent > 0 && exponent > max_exponent) exponent = max_exponent;
    out.emplace_back(token, multiplier_ * std::pow(base_, static_cast<float>(exponent)));
  }
}

DryBreakers Dry::breakers_from_strings(
    const std::vector<std::string>& strings, int32_t n_vocab,
    const std::function<std::string(int32_t)>& token_to_piece,
    const std::function<std::vector<int32_t>(const std::string&)>& tokenize) {
  constexpr size_t kMaxChars = 40;
  constexpr size_t kMaxTail = 20;
  DryBreakers out;
  std::vector<std::string> pieces(static_cast<size_t>(n_vocab));
  for (int32_t t = 0; t < n_vocab; ++t) pieces[static_cast<size_t>(t)] = token_to_piece(t);
  for (std::string s : strings) {
    if (s.empty()) continue;
    if (s.size() > kMaxChars) s.resize(kMaxChars);
    for (int32_t t = 0; t < n_vocab; ++t) {
      const std::string& word = pieces[static_cast<size_t>(t)];
      if (word.find(s) != std::string::npos) {
        out.emplace(t, std::vector<int32_t>());
        continue;
      }
      // The word ends with a proper prefix of s starting at pos: the rest of
      // s, tokenized, is what must follow for the breaker to be complete.
      for (size_t pos = word.find(s[0]); pos != std::string::npos; pos = word.find(s[0], pos + 1)) {
        size_t i = 1;
        bool match = true;
        for (; i < s.size() && pos + i < word.size(); ++i) {
          if (word[pos + i] != s[i]) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        std::vector<int32_t> tail = tokenize(s.substr(i));
        if (tail.size() > kMaxTail) tail.resize(kMaxTail);
        bool dup = false;
        auto range = out.equal_range(t);
        for (auto it = range.first; it != range.second && !dup; ++it) dup = it->second == tail;
        if (!dup) out.emplace(t, std::move(tail));
      }
    }
  }
  return out;
}

DryBreakers Dry::breakers_from_sequences(const std::vector<std::vector<int32_t>>& seqs) {
  DryBreakers out;
  for (const auto& s : seqs) {
    if (s.empty()) continue;
    out.emplace(s[0], std::vector<int32_t>(s.begin() + 1, s.end()));
  }
  return out;
}

}  // namespace kestrel::sampling
