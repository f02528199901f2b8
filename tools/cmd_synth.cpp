// `kestrel synth --shape S --type T [--pure] [--vocab V.gguf] -o out.gguf`
#include <cstdio>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "models/synth.h"

namespace kestrel::cli {

int cmd_synth(Args& args) {
  SynthOptions opt;
  std::string out, shape = "tiny", type = "Q4_0";
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::string shapes;
      for (const auto& s : all_synth_shapes()) shapes += (shapes.empty() ? "" : "|") + std::string(s.name);
      std::printf("usage: kestrel synth --shape %s --type %s [--pure] [--vocab V.gguf] [--seed N] [-t N] -o out.gguf\n",
                  shapes.c_str(), file_type_list().c_str());
      return 0;
    }
    if (a == "--shape") shape = args.value(a);
    else if (a == "--type") type = args.value(a);
    else if (a == "--pure") opt.pure = true;
    else if (a == "--vocab") opt.vocab_path = args.value(a);
    else if (a == "--seed") opt.seed = static_cast<uint64_t>(args.int_value(a, 0, INT64_MAX));
    else if (a == "-t" || a == "--threads") opt.n_threads = static_cast<int>(args.int_value(a, 1, 1024));
    else if (a == "-o" || a == "--output") out = args.value(a);
    else Args::unknown("synth", a);
  }
  opt.shape = find_synth_shape(shape);
  if (!opt.shape) {
    std::string shapes;
    for (const auto& s : all_synth_shapes()) shapes += (shapes.empty() ? "" : ", ") + std::string(s.name);
    throw Error("unknown shape '" + shape + "' (choose one of: " + shapes + ")");
  }
  opt.file_type = find_file_type(type);
  if (!opt.file_type) throw Error("unknown type '" + type + "' (choose one of: " + file_type_list() + ")");
  if (out.empty()) throw Error("kestrel synth: -o OUT.gguf is required");
  opt.progress = true;
  write_synthetic_model(opt, out);
  std::fprintf(stderr, "wrote %s (%s, %s%s)\n", out.c_str(), std::string(opt.shape->name).c_str(),
               std::string(opt.file_type->name).c_str(), opt.pure ? ", pure" : "");
  return 0;
}

}  // namespace kestrel::cli
