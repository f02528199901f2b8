// `kestrel imatrix -m M.gguf -f TEXT -o imatrix.gguf [-c 512] [--chunks N] [-b B] [-t N]
//                  [--process-output]`
//
// llama-imatrix's method and file format over convert/imatrix.h.
#include <cstdio>
#include <string>

#include "commands.h"
#include "options.h"
#include "output_guard.h"
#include "convert/imatrix.h"
#include "convert/progress_bar.h"

namespace kestrel::cli {

namespace {

struct ImatrixCliOptions {
  std::string model_path, text_path, out_path = "imatrix.gguf";
  bool force = false;
  ImatrixOptions opt;
};

CommandLine imatrix_command_line(ImatrixCliOptions& o) {
  CommandLine cl;
  cl.name = "imatrix";
  cl.usage = "imatrix -m M.gguf -f TEXT [-o imatrix.gguf] [-c 512] [--chunks N] [-b B] [-t N] [--process-output]";
  cl.description = "Collects an importance matrix for `kestrel quantize --imatrix` (llama-imatrix's method and format).";
  cl.options = {
      model_option(o.model_path),
      text_file_option("TEXT", "calibration text (a file or a pipe)", o.text_path),
      string_option({"-o", "--output"}, "FILE", "output imatrix (GGUF)", o.out_path),
      threads_option(o.opt.n_threads),
      switch_option({"--process-output"}, "collect output.weight too (llama.cpp skips it by default)",
                    o.opt.process_output),
      force_option(o.force),
  };
  const auto chunks = chunk_options("process", o.opt.n_ctx, o.opt.n_chunks, o.opt.n_batch);
  cl.options.insert(cl.options.begin() + 3,  // after -m, -f, -o in --help
                    chunks.begin(), chunks.end());
  return cl;
}

}  // namespace

void validate_imatrix_args(Args& args) { validate_options(args, imatrix_command_line, nullptr); }

int cmd_imatrix(Args& args) {
  ImatrixCliOptions o;
  if (!parse_options(args, o, imatrix_command_line, nullptr)) return 0;
  const std::string& out_path = o.out_path;
  ImatrixOptions& opt = o.opt;
  check_output_path(out_path, {o.model_path, o.text_path}, OutputKind::Imatrix, o.force);
  ProgressBar bar(true);
  opt.on_chunk = [&](int64_t c, int64_t n, double ppl) {
    char label[64];
    std::snprintf(label, sizeof label, "chunk %lld/%lld, PPL %.4f", static_cast<long long>(c + 1),
                  static_cast<long long>(n), ppl);
    bar.update(static_cast<double>(c + 1) / static_cast<double>(n), label);
  };
  const ImatrixRun run = compute_imatrix_file(o.model_path, o.text_path, out_path, opt);
  bar.finish();
  std::fprintf(stderr, "wrote %s: %zu matrices, %u chunks of %u tokens, PPL %.4f\n", out_path.c_str(),
               run.imatrix.entries.size(), run.imatrix.chunk_count, run.imatrix.chunk_size, run.ppl);
  return 0;
}

}  // namespace kestrel::cli
