// Progress on stderr for long work (quantize, imatrix, synth, bench).
//
// On a terminal, update() redraws "\r[#####-----]  45% label" at most every
// 100 ms (and always for 0% and 100%), so calling it per row chunk costs
// nothing; message() prints a line above the bar (warnings) without
// garbling it. When the stream is not a terminal (a log file, a pipe, CI)
// there is no "\r": update() prints an ordinary line each time the
// progress passes another tenth, and message() prints its line. A disabled
// bar ignores every call, so callers need no branches.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace kestrel {

class ProgressBar {
 public:
  enum class Style { Auto, Terminal, Lines };  // Auto: Terminal when isatty(out)

  explicit ProgressBar(bool enabled, std::FILE* out = stderr, Style style = Style::Auto);
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // fraction in [0, 1]; label is shown after the percentage.
  void update(double fraction, std::string_view label);
  // Prints `text` on its own line, then redraws the bar.
  void message(std::string_view text);
  // Ends the bar's line (idempotent).
  void finish();
  bool terminal() const { return terminal_; }

 private:
  void draw();
  bool enabled_;
  std::FILE* out_;
  bool terminal_;
  bool drawn_ = false;
  int last_tenth_ = -1;  // Lines style: the last tenth printed
  double fraction_ = 0;
  std::string label_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace kestrel
