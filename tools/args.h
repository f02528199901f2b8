// Minimal llama.cpp-style command-line reading for the kestrel subcommands.
//
// Flags may be short or long (-m / --model) and take their value as the
// next argument. Every problem (unknown flag, missing value, bad number)
// throws kestrel::Error with a message naming the flag, which main() prints
// before exiting with status 1. The subcommands declare their options in a
// table (options.h) built on these helpers; Args itself stays a plain
// cursor over the arguments so a command may also read them by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::cli {

class Args {
 public:
  Args(int argc, char** argv, int first);
  explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

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

// An integer in [min, max] for `flag`, parsed completely: "12x" is "expected
// an integer", 99999999999999999999 and 5000 for [1, 1024] are "out of range".
int64_t parse_int(const std::string& flag, const std::string& text, int64_t min, int64_t max);
// A finite number in [min, max] ("nan", "inf" and "1.5x" are errors).
double parse_float(const std::string& flag, const std::string& text, double min, double max);

// Parses a comma list of integers ("1,2,4") for flags like bench's -t.
std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text);
// The same with every item checked against [min, max].
std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text, int64_t min, int64_t max);

// Reads a whole file; throws a clear error when it cannot, or when the path
// is a directory or a device rather than a file (core/file_io.h).
std::string read_file(const std::string& path);

}  // namespace kestrel::cli
