// The kestrel subcommands. Each takes the arguments after its name and
// returns the process exit status; errors are thrown as kestrel::Error.
#pragma once

#include "args.h"
#include "core/error.h"

namespace kestrel::cli {

int cmd_run(Args& args);
int cmd_logits(Args& args);
int cmd_inspect(Args& args);
int cmd_tokenize(Args& args);
int cmd_synth(Args& args);
int cmd_bench(Args& args);
int cmd_perplexity(Args& args);
int cmd_quantize(Args& args);
int cmd_imatrix(Args& args);

}  // namespace kestrel::cli
