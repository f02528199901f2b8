// convert/progress_bar.h: "\r" redraws only on a terminal; elsewhere a plain
// line for each tenth, so a log stays readable.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "convert/progress_bar.h"

namespace kestrel {
namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(ProgressBar, PlainLinesWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar(true, f);  // Auto: a file is not a terminal
    EXPECT_FALSE(bar.terminal());
    for (int i = 0; i <= 1000; ++i) bar.update(i / 1000.0, "work");
    bar.message("warning: something");
  }
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_EQ(out,
            "  0% work\n 10% work\n 20% work\n 30% work\n 40% work\n 50% work\n 60% work\n 70% work\n 80% work\n"
            " 90% work\n100% work\nwarning: something\n");
}

TEST(ProgressBar, RedrawsWithCarriageReturnOnATerminal) {
  // A pseudo-terminal: isatty() is true on its secondary side.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) GTEST_SKIP() << "no pseudo-terminals here";
  const int secondary = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(secondary, 0);
  std::FILE* f = ::fdopen(secondary, "w");
  {
    ProgressBar bar(true, f);
    EXPECT_TRUE(bar.terminal());
    bar.update(0.0, "a");
    bar.update(1.0, "b");
  }
  std::fclose(f);
  // A pty hands its bytes over in pieces: read until it reports the closed
  // secondary side (EIO) rather than trusting one read().
  std::string out;
  char buf[1024];
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(master);
  ASSERT_FALSE(out.empty());
  EXPECT_NE(out.find("\r[------------------------------]   0% a"), std::string::npos) << out;
  EXPECT_NE(out.find("\r[##############################] 100% b"), std::string::npos) << out;
}

TEST(ProgressBar, ForcedStylesAndDisabledBars) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar(true, f, ProgressBar::Style::Terminal);
    bar.update(0.5, "x");
  }
  {
    ProgressBar off(false, f);
    off.update(0.5, "never");
    off.message("never");
  }
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\r[", 0), 0u) << out;
  EXPECT_EQ(out.find("never"), std::string::npos);
}

}  // namespace
}  // namespace kestrel
