// Locations shared by the end-to-end tests: the shared data folder and the
// kestrel binary under test, plus a helper that runs a command.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

namespace kestrel::test {

inline std::string shared_dir() { return KESTREL_SHARED_DIR; }
inline std::string golden_dir() { return shared_dir() + "/data/golden"; }
inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

struct CommandResult {
  int status = -1;
  std::string out;  // stdout (stderr goes to the test log)
};

// Runs a shell command and captures its stdout.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline std::string kestrel_bin() { return KESTREL_BIN; }

}  // namespace kestrel::test
