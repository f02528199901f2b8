// Sampler names and letters as llama.cpp spells them (--samplers takes
// names separated by ';', --sampling-seq one letter per sampler).
#include <string>

#include "core/error.h"
#include "sampling/sampler.h"

namespace kestrel {
namespace {

struct NameEntry {
  const char* name;
  SamplerType type;
};

// Canonical names first; the others are llama.cpp's accepted alternatives.
constexpr NameEntry kNames[] = {
    {"penalties", SamplerType::Penalties},    {"dry", SamplerType::Dry},
    {"top_n_sigma", SamplerType::TopNSigma},  {"top_k", SamplerType::TopK},
    {"typ_p", SamplerType::TypicalP},         {"top_p", SamplerType::TopP},
    {"min_p", SamplerType::MinP},             {"xtc", SamplerType::Xtc},
    {"temperature", SamplerType::Temperature}, {"top-k", SamplerType::TopK},
    {"top-p", SamplerType::TopP},             {"top-n-sigma", SamplerType::TopNSigma},
    {"nucleus", SamplerType::TopP},           {"typical-p", SamplerType::TypicalP},
    {"typical", SamplerType::TypicalP},       {"typ-p", SamplerType::TypicalP},
    {"typ", SamplerType::TypicalP},           {"min-p", SamplerType::MinP},
    {"temp", SamplerType::Temperature},
};

constexpr struct {
  char c;
  SamplerType type;
} kChars[] = {
    {'e', SamplerType::Penalties}, {'d', SamplerType::Dry},  {'s', SamplerType::TopNSigma},
    {'k', SamplerType::TopK},      {'y', SamplerType::TypicalP}, {'p', SamplerType::TopP},
    {'m', SamplerType::MinP},      {'x', SamplerType::Xtc},  {'t', SamplerType::Temperature},
};

[[noreturn]] void unsupported(const std::string& what) {
  throw Error("sampling: sampler '" + what + "' is not supported by kestrel (known: " +
              "penalties, dry, top_n_sigma, top_k, typ_p, top_p, min_p, xtc, temperature)");
}

}  // namespace

std::vector<SamplerType> parse_sampler_names(const std::string& list) {
  std::vector<SamplerType> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(';', start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    bool found = false;
    for (const NameEntry& e : kNames) {
      if (name == e.name) {
        out.push_back(e.type);
        found = true;
        break;
      }
    }
    if (!found && (name == "infill" || name == "adaptive_p" || name == "adaptive-p")) unsupported(name);
    if (!found) {
      throw Error("sampling: unknown sampler '" + name +
                  "' (known: penalties, dry, top_n_sigma, top_k, typ_p, top_p, min_p, xtc, temperature)");
    }
  }
  return out;
}

std::vector<SamplerType> parse_sampler_chars(const std::string& seq) {
  std::vector<SamplerType> out;
  for (char c : seq) {
    bool found = false;
    for (const auto& e : kChars) {
      if (c == e.c) {
        out.push_back(e.type);
        found = true;
        break;
      }
    }
    if (!found) {
      if (c == 'i' || c == 'a') unsupported(c == 'i' ? "infill" : "adaptive_p");
      throw Error(std::string("sampling: unknown sampler letter '") + c + "' (known: e d s k y p m x t)");
    }
  }
  return out;
}

std::string sampler_type_name(SamplerType t) {
  for (const NameEntry& e : kNames) {
    if (e.type == t) return e.name;
  }
  return "?";
}

char sampler_type_char(SamplerType t) {
  for (const auto& e : kChars) {
    if (e.type == t) return e.c;
  }
  return '?';
}

}  // namespace kestrel
