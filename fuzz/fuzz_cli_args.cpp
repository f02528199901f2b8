// libFuzzer target for the CLI argument parser: every subcommand's option
// table (tools/options.h), the shared value parsers (tools/args.h) and the
// commands' own checks, through validate_X_args (tools/commands.h), which
// parse and check without opening files or running anything.
//
// The input is split at NUL bytes into arguments; the first byte picks the
// subcommand. Rejection must be a kestrel::Error; anything else (another
// exception type, a crash, a hang, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"

namespace {

using Validate = void (*)(kestrel::cli::Args&);
constexpr Validate kCommands[] = {
    kestrel::cli::validate_run_args,      kestrel::cli::validate_logits_args,
    kestrel::cli::validate_inspect_args,  kestrel::cli::validate_tokenize_args,
    kestrel::cli::validate_synth_args,    kestrel::cli::validate_bench_args,
    kestrel::cli::validate_perplexity_args, kestrel::cli::validate_quantize_args,
    kestrel::cli::validate_imatrix_args,  kestrel::cli::validate_batched_bench_args,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<std::string> args;
  if (size > 1) args.emplace_back();
  for (size_t i = 1; i < size && args.size() <= 64; ++i) {
    if (data[i] == 0) args.emplace_back();
    else args.back() += static_cast<char>(data[i]);
  }
  kestrel::cli::Args a(std::move(args));
  try {
    kCommands[data[0] % (sizeof kCommands / sizeof kCommands[0])](a);
  } catch (const kestrel::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_cli_args: non-kestrel exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
