// Sampling flags of `kestrel run`, named and interpreted as llama.cpp's
// common/arg.cpp does (--temp, --top-k, --top-p, --min-p, --samplers,
// --logit-bias, ...), filling a SamplingParams.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "options.h"
#include "sampling/sampler.h"

namespace kestrel {

// Returns false when `flag` is not a sampling flag (nothing is read or
// changed). Otherwise reads the flag's argument with next_value() when it
// takes one, stores it in p and returns true. Throws kestrel::Error naming
// the flag and the value when the value is malformed or out of range, e.g.
// "--top-p: expected a number in [0, 1], got 'abc'".
bool parse_sampling_flag(const std::string& flag, const std::function<std::string()>& next_value,
                         SamplingParams& p);

// One line per flag with its default, for --help.
std::string sampling_flags_help();

// The same flags as option-table rows (options.h) storing into `p` (which
// must outlive them), for a command's parse_command_line: --help then
// lists them with their defaults, and repeats and conflicts are checked
// like every other option (--logit-bias and --dry-sequence-breaker repeat).
std::vector<cli::Option> sampling_options(SamplingParams& p);

}  // namespace kestrel
