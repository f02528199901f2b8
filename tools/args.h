// Minimal llama.cpp-style command-line reading for the kestrel subcommands.
//
// Flags may be short or long (-m / --model) and take their value as the
// next argument. Every problem (unknown flag, missing value, bad number)
// throws kestrel::Error with a message naming the flag, which main() prints
// before exiting with status 1.
#pragma once

#include <string>
#include <vector>

namespace kestrel::cli {

class Args {
 public:
  Args(int argc, char** argv, int first);

  bool done() const { return pos_ >= args_.size(); }
  // The next argument (flag or positional); advances.
  const std::string& next();
  // The value for `flag`: the following argument; throws if there is none.
  std::string value(const std::string& flag);
  int64_t int_value(const std::string& flag, int64_t min, int64_t max);
  double float_value(const std::string& flag);
  // Throws "unknown argument" for `arg` with the subcommand's name.
  [[noreturn]] static void unknown(const std::string& cmd, const std::string& arg);

 private:
  std::vector<std::string> args_;
  size_t pos_ = 0;
};

// Parses a comma list of integers ("1,2,4") for flags like bench's -t.
std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text);

// Reads a whole file; throws a clear error when it cannot.
std::string read_file(const std::string& path);

}  // namespace kestrel::cli
