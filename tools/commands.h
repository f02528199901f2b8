// The kestrel subcommands. Each takes the arguments after its name and
// returns the process exit status; errors are thrown as kestrel::Error.
//
// validate_X_args() runs only X's argument parsing and checks (no file is
// opened, nothing is printed but warnings): the CLI fuzz target and the
// option tests drive these.
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
int cmd_batched_bench(Args& args);
int cmd_perplexity(Args& args);
int cmd_quantize(Args& args);
int cmd_imatrix(Args& args);
int cmd_serve(Args& args);
int cmd_chat(Args& args);

void validate_run_args(Args& args);
void validate_logits_args(Args& args);
void validate_inspect_args(Args& args);
void validate_tokenize_args(Args& args);
void validate_synth_args(Args& args);
void validate_bench_args(Args& args);
void validate_batched_bench_args(Args& args);
void validate_perplexity_args(Args& args);
void validate_quantize_args(Args& args);
void validate_imatrix_args(Args& args);
void validate_serve_args(Args& args);
void validate_chat_args(Args& args);

}  // namespace kestrel::cli
