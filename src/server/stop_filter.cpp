// StopFilter: stop strings and UTF-8 boundaries over streamed pieces.
#include "server/stop_filter.h"

#include <algorithm>

namespace kestrel::server {

size_t complete_utf8_length(const std::string& s) {
  size_t i = s.size(), back = 0;
  while (i > 0 && back < 4) {
    const auto c = static_cast<unsigned char>(s[i - 1]);
    if ((c & 0xC0) != 0x80) {
      const size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      return back + 1 >= need ? s.size() : i - 1;
    }
    --i;
    ++back;
  }
  return s.size();
}

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
  const size_t ok = complete_utf8_length(head);
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
