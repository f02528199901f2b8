// Command-line helpers (args.h).
#include "args.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace kestrel::cli {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
}

const std::string& Args::next() { return args_.at(pos_++); }

std::string Args::value(const std::string& flag) {
  if (pos_ >= args_.size()) throw Error("option " + flag + " needs a value");
  return args_[pos_++];
}

int64_t Args::int_value(const std::string& flag, int64_t min, int64_t max) {
  const std::string v = value(flag);
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE) {
    throw Error("option " + flag + ": expected an integer, got '" + v + "'");
  }
  if (x < min || x > max) {
    throw Error("option " + flag + ": " + v + " is out of range [" + std::to_string(min) + ", " +
                std::to_string(max) + "]");
  }
  return x;
}

double Args::float_value(const std::string& flag) {
  const std::string v = value(flag);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') throw Error("option " + flag + ": expected a number, got '" + v + "'");
  return x;
}

void Args::unknown(const std::string& cmd, const std::string& arg) {
  throw Error("kestrel " + cmd + ": unknown argument '" + arg + "' (see kestrel " + cmd + " --help)");
}

std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long long x = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0') throw Error("option " + flag + ": bad list item '" + item + "'");
    out.push_back(x);
  }
  if (out.empty()) throw Error("option " + flag + ": empty list");
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("error reading '" + path + "'");
  return ss.str();
}

}  // namespace kestrel::cli
