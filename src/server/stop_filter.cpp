// StopFilter: stop strings and UTF-8 boundaries over streamed pieces.
#include "server/stop_filter.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace kestrel::server {

std::string StopFilter::add(const std::string& piece) {
  if (stopped()) return {};
  pending_ += piece;
  // The earliest stop string in the pending text ends the generation.
  size_t best = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t at = pending_.find(s);
    if (at != std::string::npos && at < best) {
      best = at;
      stop_word_ = s;
    }
  }
  if (best != std::string::npos) {
    std::string out = pending_.substr(0, best);
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t n = std::min(s.size() - 1, pending_.size()); n > hold; --n) {
      if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string head = pending_.substr(0, pending_.size() - hold);
  const size_t ok = tok::complete_utf8_prefix(head);
  std::string out = head.substr(0, ok);
  pending_.erase(0, ok);
  return out;
}

std::string StopFilter::flush() {
  if (stopped()) return {};
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace kestrel::server
