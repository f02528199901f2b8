// libFuzzer target for the sampler-chain specification: `--samplers` and
// `--sampling-seq` strings and every sampling flag of `kestrel run`.
//
// The input is split at NUL bytes into arguments and fed through
// parse_sampling_flag exactly as the command line would be (a flag, then
// its value when it takes one). Rejection must be a kestrel::Error; an
// accepted specification must build a SamplerChain (or be refused by it
// with a kestrel::Error, e.g. a logit-bias token outside the vocabulary)
// that then samples a few rows of varied logits, every token inside the
// vocabulary, candidates() agreeing with the vocabulary too. The last
// argument is also tried as a --samplers list and as a --sampling-seq.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "sampling/sampler.h"
#include "sampling_flags.h"

namespace {

constexpr int32_t kVocab = 97;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_sampler_spec: invariant failed: %s\n", what);
  std::abort();
}

std::vector<std::string> split_args(const uint8_t* data, size_t size) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < size && out.size() <= 64; ++i) {
    if (data[i] == 0) out.emplace_back();
    else out.back() += static_cast<char>(data[i]);
  }
  return out;
}

void try_lists(const std::string& s) {
  try {
    for (kestrel::SamplerType t : kestrel::parse_sampler_names(s)) (void)kestrel::sampler_type_name(t);
  } catch (const kestrel::Error&) {
  }
  try {
    for (kestrel::SamplerType t : kestrel::parse_sampler_chars(s)) (void)kestrel::sampler_type_char(t);
  } catch (const kestrel::Error&) {
  }
}

void run_chain(const kestrel::SamplingParams& p, uint32_t salt) {
  kestrel::SamplerContext ctx;
  ctx.n_ctx = 256;
  ctx.eog_tokens = {2};
  ctx.dry_breaker_sequences = {{10}, {11, 12}};
  kestrel::SamplingParams q = p;
  if (q.seed == kestrel::kRandomSeed) q.seed = 1234;  // reproducible findings
  std::vector<float> logits(kVocab);
  try {
    kestrel::SamplerChain chain(q, kVocab, ctx);
    for (int step = 0; step < 4; ++step) {
      for (int32_t i = 0; i < kVocab; ++i) {
        const uint32_t h = (static_cast<uint32_t>(i) * 2654435761u) ^ (salt + static_cast<uint32_t>(step) * 97u);
        logits[static_cast<size_t>(i)] = static_cast<float>(h % 2001) / 100.0f - 10.0f;
      }
      if (step == 3) logits[5] = -INFINITY;  // a banned token, as logit bias -inf makes
      for (const auto& c : chain.candidates(logits.data())) check(c.token >= 0 && c.token < kVocab, "candidate id");
      const int32_t t = chain.sample(logits.data());
      check(t >= 0 && t < kVocab, "sampled id outside the vocabulary");
      chain.accept(t);
    }
    (void)chain.describe();
  } catch (const kestrel::Error&) {
    // A specification the chain refuses, or every logit removed: reported, not a crash.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> args = split_args(data, size);
  try_lists(args.back());
  kestrel::SamplingParams p;
  size_t i = 0;
  try {
    while (i < args.size()) {
      const std::string flag = args[i++];
      auto next = [&]() -> std::string {
        if (i >= args.size()) throw kestrel::Error(flag + ": missing value");
        return args[i++];
      };
      if (!kestrel::parse_sampling_flag(flag, next, p)) return 0;  // not a sampling flag: the CLI reports it
    }
  } catch (const kestrel::Error&) {
    return 0;
  }
  uint32_t salt = 0;
  for (size_t k = 0; k < size; ++k) salt = salt * 31 + data[k];
  run_chain(p, salt);
  return 0;
}
