// `kestrel imatrix -m M.gguf -f TEXT -o imatrix.gguf [-c 512] [--chunks N] [-b B] [-t N]
//                  [--process-output]`
//
// llama-imatrix's method and file format over convert/imatrix.h.
#include <cstdio>
#include <string>

#include "commands.h"
#include "convert/imatrix.h"
#include "convert/progress_bar.h"

namespace kestrel::cli {

int cmd_imatrix(Args& args) {
  std::string model_path, text_path, out_path = "imatrix.gguf";
  ImatrixOptions opt;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: kestrel imatrix -m M.gguf -f TEXT [-o imatrix.gguf] [-c 512] [--chunks N] [-b B] [-t N]\n"
          "                       [--process-output]\n"
          "  --process-output  collect output.weight too (llama.cpp skips it by default)\n");
      return 0;
    }
    if (a == "-m" || a == "--model") model_path = args.value(a);
    else if (a == "-f" || a == "--file") text_path = args.value(a);
    else if (a == "-o" || a == "--output") out_path = args.value(a);
    else if (a == "-c" || a == "--ctx-size") opt.n_ctx = args.int_value(a, 4, 1 << 20);
    else if (a == "--chunks") opt.n_chunks = args.int_value(a, -1, INT32_MAX);
    else if (a == "-b" || a == "--batch-size") opt.n_batch = args.int_value(a, 1, 1 << 20);
    else if (a == "-t" || a == "--threads") opt.n_threads = static_cast<int>(args.int_value(a, 1, 1024));
    else if (a == "--process-output") opt.process_output = true;
    else Args::unknown("imatrix", a);
  }
  if (model_path.empty()) throw Error("kestrel imatrix: -m MODEL.gguf is required");
  if (text_path.empty()) throw Error("kestrel imatrix: -f TEXT is required");
  ProgressBar bar(true);
  opt.on_chunk = [&](int64_t c, int64_t n, double ppl) {
    char label[64];
    std::snprintf(label, sizeof label, "chunk %lld/%lld, PPL %.4f", static_cast<long long>(c + 1),
                  static_cast<long long>(n), ppl);
    bar.update(static_cast<double>(c + 1) / static_cast<double>(n), label);
  };
  const ImatrixRun run = compute_imatrix_file(model_path, text_path, out_path, opt);
  bar.finish();
  std::fprintf(stderr, "wrote %s: %zu matrices, %u chunks of %u tokens, PPL %.4f\n", out_path.c_str(),
               run.imatrix.entries.size(), run.imatrix.chunk_count, run.imatrix.chunk_size, run.ppl);
  return 0;
}

}  // namespace kestrel::cli
