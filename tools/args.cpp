// Command-line helpers (args.h).
#include "args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "core/file_io.h"

namespace kestrel::cli {
namespace {

std::string fmt_g(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

std::string range_text(int64_t min, int64_t max) {
  std::string s = "[";  // appended: `"[" + to_string(...)` trips GCC 12's -Wrestrict false positive
  s.append(std::to_string(min)).append(", ").append(std::to_string(max)).append("]");
  return s;
}

}  // namespace

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) args_.emplace_back(argv[i]);
}

const std::string& Args::next() { return args_.at(pos_++); }

std::string Args::value(const std::string& flag) {
  if (pos_ >= args_.size()) throw Error("option " + flag + " needs a value");
  return args_[pos_++];
}

int64_t Args::int_value(const std::string& flag, int64_t min, int64_t max) {
  return parse_int(flag, value(flag), min, max);
}

double Args::float_value(const std::string& flag) {
  const std::string v = value(flag);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') throw Error("option " + flag + ": expected a number, got '" + v + "'");
  return x;
}

void Args::unknown(const std::string& cmd, const std::string& arg) {
  // Built by appending: `"..." + std::string + ...` chains here trip GCC 12's
  // -Wrestrict false positive.
  std::string msg = "kestrel ";
  msg.append(cmd).append(": unknown argument '").append(arg).append("' (");
  const std::string_view a(arg);
  const size_t eq = a.find('=');
  if (a.size() > 1 && a[0] == '-' && eq != std::string_view::npos) {
    msg.append("options take their value as the next word: ").append(a.substr(0, eq)).append(" ");
    msg.append(a.substr(eq + 1));
  } else {
    msg.append("see kestrel ").append(cmd).append(" --help");
  }
  msg += ')';
  throw Error(msg);
}

int64_t parse_int(const std::string& flag, const std::string& v, int64_t min, int64_t max) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  // strtoll skips leading spaces and accepts "+"; a person typing " 5" or
  // "+5" means 5, but an empty value or trailing junk is a mistake.
  if (v.empty() || *end != '\0' || end == v.c_str()) {
    throw Error("option " + flag + ": expected an integer, got '" + v + "'");
  }
  if (errno == ERANGE || x < min || x > max) {
    throw Error("option " + flag + ": " + v + " is out of range " + range_text(min, max));
  }
  return x;
}

double parse_float(const std::string& flag, const std::string& v, double min, double max) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || end == v.c_str() || std::isnan(x)) {
    throw Error("option " + flag + ": expected a number, got '" + v + "'");
  }
  if (!std::isfinite(x) || x < min || x > max) {
    throw Error("option " + flag + ": " + v + " is out of range [" + fmt_g(min) + ", " + fmt_g(max) + "]");
  }
  return x;
}

std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text) {
  return parse_int_list(flag, text, INT64_MIN, INT64_MAX);
}

std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
  std::vector<int64_t> out;
  size_t start = 0;
  // Split by hand: getline would drop a trailing empty item ("1,2,").
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    if (item.empty()) throw Error("option " + flag + ": bad list item '' in '" + text + "'");
    out.push_back(parse_int(flag, item, min, max));
    start = comma + 1;
  }
  return out;
}

std::string read_file(const std::string& path) { return read_text_file(path); }

}  // namespace kestrel::cli
