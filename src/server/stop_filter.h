// Turns a slot's generated token pieces into text that is safe to send:
// holds back an incomplete UTF-8 character and any tail that could still
// grow into one of the request's stop strings, and cuts the text at the
// first stop string found (which is not sent, as OpenAI and llama-server do).
#pragma once

#include <string>
#include <vector>

namespace kestrel::server {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
  // Adds a piece; returns the text to send now. After a stop string was
  // found, stopped() is true and nothing more is returned.
  std::string add(const std::string& piece);
  // End of generation: what was held back (nothing after a stop).
  std::string flush();
  bool stopped() const { return !stop_word_.empty(); }
  const std::string& stop_word() const { return stop_word_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  std::string stop_word_;
};

}  // namespace kestrel::server
