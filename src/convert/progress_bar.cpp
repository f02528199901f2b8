// Progress bar (progress_bar.h).
#include "convert/progress_bar.h"

#include <unistd.h>

#include <algorithm>

namespace kestrel {

ProgressBar::ProgressBar(bool enabled, std::FILE* out, Style style)
    : enabled_(enabled),
      out_(out),
      terminal_(style == Style::Terminal || (style == Style::Auto && ::isatty(::fileno(out)) == 1)) {}

void ProgressBar::update(double fraction, std::string_view label) {
  if (!enabled_) return;
  fraction_ = std::clamp(fraction, 0.0, 1.0);
  label_.assign(label);
  if (!terminal_) {
    // A log gets a line per tenth, not one per redraw: "\r" would pile
    // hundreds of overwritten bars into one unreadable line.
    const int tenth = static_cast<int>(fraction_ * 10.0);
    if (tenth <= last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(out_, "%3d%% %s\n", static_cast<int>(fraction_ * 100.0 + 0.5), label_.c_str());
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  // Throttle: redrawing on every row chunk would cost more than the work.
  if (drawn_ && fraction_ > 0.0 && fraction_ < 1.0 && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  draw();
}

void ProgressBar::draw() {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction_ * kWidth + 0.5);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '-');
  // Pad the label so a shorter one fully overwrites a longer previous one.
  std::fprintf(out_, "\r[%s] %3d%% %-40.40s", bar.c_str(), static_cast<int>(fraction_ * 100.0 + 0.5),
               label_.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::message(std::string_view text) {
  if (!enabled_) return;
  if (drawn_) std::fprintf(out_, "\r%*s\r", 80, "");
  std::fprintf(out_, "%.*s\n", static_cast<int>(text.size()), text.data());
  if (drawn_) draw();
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(out_, "\n");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace kestrel
