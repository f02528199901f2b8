// A one-line progress bar on stderr for long conversions (quantize, imatrix).
//
// update() redraws "\r[#####-----]  45% label" at most every 100 ms (and
// always for 0% and 100%), so calling it per row chunk costs nothing;
// message() prints a line above the bar (warnings) without garbling it.
// A disabled bar ignores every call, so callers need no branches.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace kestrel {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled, std::FILE* out = stderr) : enabled_(enabled), out_(out) {}
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // fraction in [0, 1]; label is shown after the percentage.
  void update(double fraction, std::string_view label);
  // Prints `text` on its own line, then redraws the bar.
  void message(std::string_view text);
  // Ends the bar's line (idempotent).
  void finish();

 private:
  void draw();
  bool enabled_;
  std::FILE* out_;
  bool drawn_ = false;
  double fraction_ = 0;
  std::string label_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace kestrel
