// `kestrel synth --shape S --type T [--pure] [--vocab V.gguf] -o out.gguf`
//
// Writes a model of a real architecture's shapes with seeded random
// weights. The output must not be the --vocab input and must not replace a
// file that is not a GGUF model unless --force (output_guard.h).
#include <cstdio>
#include <string>

#include "commands.h"
#include "convert/progress_bar.h"
#include "core/error.h"
#include "models/synth.h"
#include "options.h"
#include "output_guard.h"

namespace kestrel::cli {
namespace {

struct SynthCliOptions {
  SynthOptions opt;
  std::string out, shape = "tiny", type = "Q4_0";
  int64_t seed = 42;
  bool force = false;
};

std::string shape_names(const char* sep) {
  std::string shapes;
  for (const auto& s : all_synth_shapes()) shapes += (shapes.empty() ? "" : sep) + std::string(s.name);
  return shapes;
}

CommandLine synth_command_line(SynthCliOptions& o) {
  CommandLine cl;
  cl.name = "synth";
  cl.usage = "synth --shape " + shape_names("|") + " --type TYPE [--pure] [--vocab V.gguf] [--seed N] [-t N] -o out.gguf";
  cl.description = "Writes a model with a real architecture's shapes and seeded random weights.";
  cl.options = {
      string_option({"--shape"}, "SHAPE", "one of " + shape_names(", "), o.shape),
      string_option({"--type"}, "TYPE", "file type: " + file_type_list(), o.type),
      switch_option({"--pure"}, "every matrix in TYPE (no per-tensor mix)", o.opt.pure),
      value_option({"--vocab"}, "V.gguf", "copy the tokenizer from this GGUF", "none, a generated tokenizer",
                   [&o](const std::string&, const std::string& v) { o.opt.vocab_path = v; }),
      int_option({"--seed"}, "N", "weight seed", o.seed, 0, INT64_MAX),
      threads_option(o.opt.n_threads),
      required(string_option({"-o", "--output"}, "OUT.gguf", "output file", o.out)),
      force_option(o.force),
  };
  return cl;
}

void check_synth(SynthCliOptions& o) {
  o.opt.shape = find_synth_shape(o.shape);
  if (!o.opt.shape) throw Error("unknown shape '" + o.shape + "' (choose one of: " + shape_names(", ") + ")");
  o.opt.file_type = find_file_type(o.type);
  if (!o.opt.file_type) throw Error("unknown type '" + o.type + "' (choose one of: " + file_type_list() + ")");
  o.opt.seed = static_cast<uint64_t>(o.seed);
}

}  // namespace

void validate_synth_args(Args& args) { validate_options(args, synth_command_line, check_synth); }

int cmd_synth(Args& args) {
  SynthCliOptions o;
  if (!parse_options(args, o, synth_command_line, check_synth)) return 0;
  check_output_path(o.out, {o.opt.vocab_path}, OutputKind::GgufModel, o.force);
  ProgressBar bar(true);
  o.opt.on_progress = [&bar](size_t done, size_t total, std::string_view tensor) {
    bar.update(static_cast<double>(done) / static_cast<double>(total), tensor);
  };
  write_synthetic_model(o.opt, o.out);
  bar.finish();
  std::fprintf(stderr, "wrote %s (%s, %s%s)\n", o.out.c_str(), std::string(o.opt.shape->name).c_str(),
               std::string(o.opt.file_type->name).c_str(), o.opt.pure ? ", pure" : "");
  return 0;
}

}  // namespace kestrel::cli
