// Sampling flags (see sampling_flags.h): one table row per flag, with its
// llama.cpp spellings, argument, help text and the parser that stores it.
// Numbers must parse completely ("1.5x" is an error, not 1.5).
#include "sampling_flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace kestrel {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& expected, const std::string& v) {
  throw Error(flag + ": expected " + expected + ", got '" + v + "'");
}

double parse_number(const std::string& flag, const std::string& v, double lo, double hi,
                    const std::string& expected) {
  double d = 0;
  const char* end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, d);
  // Infinity is never a useful sampling parameter (a temperature or a
  // penalty of inf makes every logit inf or NaN); --logit-bias parses its
  // own "-inf".
  if (v.empty() || ec != std::errc() || ptr != end || !std::isfinite(d) || d < lo || d > hi) {
    bad(flag, expected, v);
  }
  return d;
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kIntMin = std::numeric_limits<int32_t>::min();

std::string fmt_g(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

float real(const std::string& flag, const std::string& v, double lo, double hi) {
  std::string expected = "a finite number";
  if (lo > -kInf && hi < kInf) expected = "a number in [" + fmt_g(lo) + ", " + fmt_g(hi) + "]";
  else if (lo > -kInf) expected = "a finite number >= " + fmt_g(lo);
  return static_cast<float>(parse_number(flag, v, lo, hi, expected));
}

// A number > 0: the repetition penalty divides logits by it, so 0 would
// surface much later as "the model produced invalid logits".
float positive(const std::string& flag, const std::string& v) {
  const double d = parse_number(flag, v, 0, kInf, "a finite number > 0");
  if (!(d > 0) || !(static_cast<float>(d) > 0)) bad(flag, "a finite number > 0", v);
  return static_cast<float>(d);
}

int64_t integer64(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
  int64_t n = 0;
  const char* end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, n);
  if (v.empty() || ec != std::errc() || ptr != end || n < lo || n > hi) {
    bad(flag, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
  }
  return n;
}

int32_t integer(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
  return static_cast<int32_t>(integer64(flag, v, lo, hi));
}

using Setter = void (*)(SamplingParams&, const std::string& flag, const std::string& value);
using Shower = std::string (*)(const SamplingParams&);

struct FlagSpec {
  const char* names[3];  // llama.cpp spellings, unused slots nullptr
  const char* metavar;   // nullptr: a switch without argument
  const char* help;
  Setter set;
  Shower show_default;   // nullptr: no default shown
  bool repeatable = false;  // each use adds to a list
};

std::string fmt_float(float f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(f));
  return buf;
}

std::string sampler_names(const std::vector<SamplerType>& v) {
  std::string s;
  for (SamplerType t : v) {
    if (!s.empty()) s += ';';
    s += sampler_type_name(t);
  }
  return s;
}

std::string sampler_chars(const std::vector<SamplerType>& v) {
  std::string s;
  for (SamplerType t : v) s += sampler_type_char(t);
  return s;
}

void set_logit_bias(SamplingParams& p, const std::string& flag, const std::string& v) {
  // TOKEN_ID followed by + or - and the bias ("15043+1", "2-inf").
  const size_t sign = v.find_first_of("+-", 1);
  const std::string expected = "TOKEN_ID(+|-)BIAS such as 15043+1 or 15043-inf";
  if (sign == std::string::npos) bad(flag, expected, v);
  int32_t token = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + sign, token);
  if (ec != std::errc() || ptr != v.data() + sign || token < 0) bad(flag, expected, v);
  const std::string mag = v.substr(sign + 1);
  double bias = 0;
  if (mag == "inf" || mag == "INF") {
    bias = kInf;
  } else {
    const auto [p2, ec2] = std::from_chars(mag.data(), mag.data() + mag.size(), bias);
    if (mag.empty() || ec2 != std::errc() || p2 != mag.data() + mag.size() || std::isnan(bias)) {
      bad(flag, expected, v);
    }
  }
  p.logit_bias.push_back({token, static_cast<float>(v[sign] == '-' ? -bias : bias)});
}

const FlagSpec kFlags[] = {
    {{"-s", "--seed", nullptr}, "SEED", "RNG seed (-1: random)",
     [](SamplingParams& p, const std::string& f, const std::string& v) {
       p.seed = static_cast<uint32_t>(integer64(f, v, -1, 0xFFFFFFFFll) & 0xFFFFFFFFll);  // -1: random
     },
     [](const SamplingParams& p) { return p.seed == kRandomSeed ? std::string("-1") : std::to_string(p.seed); }},
    {{"--samplers", nullptr, nullptr}, "SAMPLERS", "samplers in order, separated by ';'",
     [](SamplingParams& p, const std::string& f, const std::string& v) {
       try {
         p.samplers = parse_sampler_names(v);
       } catch (const Error& e) {
         throw Error(f + ": " + e.what());
       }
     },
     [](const SamplingParams& p) { return sampler_names(p.samplers); }},
    {{"--sampling-seq", "--sampler-seq", nullptr}, "SEQUENCE", "samplers in order, one letter each",
     [](SamplingParams& p, const std::string& f, const std::string& v) {
       try {
         p.samplers = parse_sampler_chars(v);
       } catch (const Error& e) {
         throw Error(f + ": " + e.what());
       }
     },
     [](const SamplingParams& p) { return sampler_chars(p.samplers); }},
    {{"--ignore-eos", nullptr, nullptr}, nullptr, "never end generation (end-of-generation tokens get bias -inf)",
     [](SamplingParams& p, const std::string&, const std::string&) { p.ignore_eos = true; }, nullptr},
    {{"--temp", "--temperature", nullptr}, "N", "temperature (<= 0: greedy)",
     [](SamplingParams& p, const std::string& f, const std::string& v) {
       p.temp = std::max(real(f, v, -kInf, kInf), 0.0f);
     },
     [](const SamplingParams& p) { return fmt_float(p.temp); }},
    {{"--top-k", nullptr, nullptr}, "N", "top-k sampling (0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.top_k = integer(f, v, kIntMin, kIntMax); },
     [](const SamplingParams& p) { return std::to_string(p.top_k); }},
    {{"--top-p", nullptr, nullptr}, "N", "top-p sampling (1.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.top_p = real(f, v, 0, 1); },
     [](const SamplingParams& p) { return fmt_float(p.top_p); }},
    {{"--min-p", nullptr, nullptr}, "N", "min-p sampling (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.min_p = real(f, v, 0, 1); },
     [](const SamplingParams& p) { return fmt_float(p.min_p); }},
    {{"--top-nsigma", "--top-n-sigma", nullptr}, "N", "top-n-sigma sampling (-1: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.top_n_sigma = real(f, v, -kInf, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.top_n_sigma); }},
    {{"--xtc-probability", nullptr, nullptr}, "N", "XTC probability (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.xtc_probability = real(f, v, 0, 1); },
     [](const SamplingParams& p) { return fmt_float(p.xtc_probability); }},
    {{"--xtc-threshold", nullptr, nullptr}, "N", "XTC threshold (> 0.5: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.xtc_threshold = real(f, v, 0, 1); },
     [](const SamplingParams& p) { return fmt_float(p.xtc_threshold); }},
    {{"--typical", "--typical-p", nullptr}, "N", "locally typical sampling, parameter p (1.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.typical_p = real(f, v, 0, 1); },
     [](const SamplingParams& p) { return fmt_float(p.typical_p); }},
    {{"--repeat-last-n", nullptr, nullptr}, "N", "last n tokens to penalize (0: off, -1: context size)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.penalty_last_n = integer(f, v, -1, kIntMax); },
     [](const SamplingParams& p) { return std::to_string(p.penalty_last_n); }},
    {{"--repeat-penalty", nullptr, nullptr}, "N", "repetition penalty (1.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.penalty_repeat = positive(f, v); },
     [](const SamplingParams& p) { return fmt_float(p.penalty_repeat); }},
    {{"--presence-penalty", nullptr, nullptr}, "N", "presence penalty (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.penalty_present = real(f, v, -kInf, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.penalty_present); }},
    {{"--frequency-penalty", nullptr, nullptr}, "N", "frequency penalty (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.penalty_freq = real(f, v, -kInf, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.penalty_freq); }},
    {{"--dry-multiplier", nullptr, nullptr}, "N", "DRY multiplier (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dry_multiplier = real(f, v, 0, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.dry_multiplier); }},
    {{"--dry-base", nullptr, nullptr}, "N", "DRY base",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dry_base = real(f, v, 1, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.dry_base); }},
    {{"--dry-allowed-length", nullptr, nullptr}, "N", "DRY: repeats longer than this are penalized",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dry_allowed_length = integer(f, v, 0, kIntMax); },
     [](const SamplingParams& p) { return std::to_string(p.dry_allowed_length); }},
    {{"--dry-penalty-last-n", nullptr, nullptr}, "N", "DRY: tokens to scan (0: off, -1: context size)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dry_penalty_last_n = integer(f, v, -1, kIntMax); },
     [](const SamplingParams& p) { return std::to_string(p.dry_penalty_last_n); }},
    {{"--dry-sequence-breaker", nullptr, nullptr}, "STRING",
     "DRY sequence breaker; the first one replaces the defaults, \"none\" clears them",
     [](SamplingParams& p, const std::string&, const std::string& v) {
       if (!p.dry_sequence_breakers_from_user) p.dry_sequence_breakers.clear();
       p.dry_sequence_breakers_from_user = true;
       if (v == "none") p.dry_sequence_breakers.clear();
       else p.dry_sequence_breakers.push_back(v);
     },
     [](const SamplingParams&) { return std::string("'\\n' ':' '\"' '*'"); }, true},
    {{"--dynatemp-range", nullptr, nullptr}, "N", "dynamic temperature range (0.0: off)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dynatemp_range = real(f, v, 0, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.dynatemp_range); }},
    {{"--dynatemp-exp", nullptr, nullptr}, "N", "dynamic temperature exponent",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.dynatemp_exponent = real(f, v, 0, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.dynatemp_exponent); }},
    {{"--mirostat", nullptr, nullptr}, "N", "mirostat (0: off, 1: mirostat, 2: mirostat 2.0)",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.mirostat = integer(f, v, 0, 2); },
     [](const SamplingParams& p) { return std::to_string(p.mirostat); }},
    {{"--mirostat-lr", nullptr, nullptr}, "N", "mirostat learning rate, eta",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.mirostat_eta = real(f, v, 0, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.mirostat_eta); }},
    {{"--mirostat-ent", nullptr, nullptr}, "N", "mirostat target entropy, tau",
     [](SamplingParams& p, const std::string& f, const std::string& v) { p.mirostat_tau = real(f, v, 0, kInf); },
     [](const SamplingParams& p) { return fmt_float(p.mirostat_tau); }},
    {{"-l", "--logit-bias", nullptr}, "TOKEN_ID(+|-)BIAS", "add BIAS to a token's logit, e.g. 15043+1 or 2-inf",
     set_logit_bias, nullptr, true},
};

const char* canonical_name(const FlagSpec& f) { return f.names[0][1] == '-' ? f.names[0] : f.names[1]; }

}  // namespace

std::vector<cli::Option> sampling_options(SamplingParams& p) {
  const SamplingParams defaults;
  std::vector<cli::Option> out;
  for (const FlagSpec& f : kFlags) {
    cli::Option o;
    for (const char* name : f.names) {
      if (name) o.names.emplace_back(name);
    }
    o.metavar = f.metavar ? f.metavar : "";
    o.help = f.help;
    o.default_text = f.show_default ? f.show_default(defaults) : "";
    if (o.default_text.empty() && f.metavar) o.default_text = "none";
    o.repeatable = f.repeatable;
    o.section = "sampling (llama.cpp's flags and defaults)";
    o.set = [&p, &f](const std::string&, const std::string& v) { f.set(p, canonical_name(f), v); };
    out.push_back(std::move(o));
  }
  return out;
}

bool parse_sampling_flag(const std::string& flag, const std::function<std::string()>& next_value,
                         SamplingParams& p) {
  for (const FlagSpec& f : kFlags) {
    for (const char* name : f.names) {
      if (!name || flag != name) continue;
      const std::string value = f.metavar ? next_value() : std::string();
      // Errors name the long spelling ("-l" reports as --logit-bias).
      f.set(p, canonical_name(f), value);
      return true;
    }
  }
  return false;
}

std::string sampling_flags_help() {
  const SamplingParams defaults;
  std::string out = "sampling (llama.cpp's flags and defaults):\n";
  for (const FlagSpec& f : kFlags) {
    std::string left = "  ";
    for (const char* name : f.names) {
      if (!name) continue;
      if (left.size() > 2) left += ", ";
      left += name;
    }
    if (f.metavar) left += std::string(" ") + f.metavar;
    if (left.size() < 36) left.resize(36, ' ');
    else left += "  ";
    out += left + f.help;
    if (f.show_default) out += " (default: " + f.show_default(defaults) + ")";
    out += "\n";
  }
  return out;
}

}  // namespace kestrel
