// `kestrel quantize [--pure] [--allow-requantize] [--imatrix F] [--tensor-type NAME=TYPE]...
//                   [-t N] IN.gguf OUT.gguf TYPE [N_THREADS]`
//
// llama-quantize's interface over convert/model_quantizer.h; TYPE is a file
// type (Q4_K_M, Q8_0, ...), llama.cpp's aliases Q3_K/Q4_K/Q5_K for the _M
// mixes, or a numeric ftype id.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "convert/imatrix.h"
#include "convert/model_quantizer.h"

namespace kestrel::cli {

int cmd_quantize(Args& args) {
  QuantizeOptions opt;
  std::vector<std::string> positional;
  std::string imatrix_path;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: kestrel quantize [--pure] [--allow-requantize] [--imatrix F] [--tensor-type NAME=TYPE]...\n"
          "                        [-t N] IN.gguf OUT.gguf TYPE [N_THREADS]\n"
          "  TYPE: %s\n"
          "  --pure              every matrix in TYPE's base type (no per-tensor mix)\n"
          "  --imatrix F         importance matrix from `kestrel imatrix` (or llama-imatrix)\n"
          "  --tensor-type N=T   tensors whose name matches the regex N get type T (repeatable)\n"
          "  --allow-requantize  accept an already quantized source (quality suffers)\n",
          quantize_type_names().c_str());
      return 0;
    }
    if (a == "--pure") opt.pure = true;
    else if (a == "--allow-requantize") opt.allow_requantize = true;
    else if (a == "--imatrix") imatrix_path = args.value(a);
    else if (a == "--tensor-type") opt.overrides.push_back(parse_tensor_type_override(args.value(a)));
    else if (a == "-t" || a == "--threads") opt.n_threads = static_cast<int>(args.int_value(a, 1, 1024));
    else if (a.size() > 1 && a[0] == '-') Args::unknown("quantize", a);
    else positional.push_back(a);
  }
  if (positional.size() < 3 || positional.size() > 4) {
    throw Error("kestrel quantize: expected IN.gguf OUT.gguf TYPE [N_THREADS] (see --help)");
  }
  opt.file_type = &parse_quantize_type(positional[2]);
  if (positional.size() == 4) {
    try {
      opt.n_threads = std::stoi(positional[3]);
    } catch (const std::exception&) {
      opt.n_threads = 0;
    }
    if (opt.n_threads < 1 || opt.n_threads > 1024) {
      throw Error("kestrel quantize: N_THREADS '" + positional[3] + "' is not a number in 1..1024");
    }
  }
  ImportanceMatrix imatrix;
  if (!imatrix_path.empty()) {
    imatrix = ImportanceMatrix::read(imatrix_path);
    opt.imatrix = &imatrix;
    opt.imatrix_path = imatrix_path;
    std::fprintf(stderr, "imatrix %s: %zu entries from %u chunks\n", imatrix_path.c_str(), imatrix.entries.size(),
                 imatrix.chunk_count);
  }
  opt.progress = true;
  const QuantizeStats st = quantize_model_file(positional[0], positional[1], opt);
  const double mib = 1024.0 * 1024.0;
  std::fprintf(stderr,
               "wrote %s (%s%s): %d tensors, %d converted (%d with imatrix, %d fallbacks), "
               "%.2f MiB -> %.2f MiB (%.2f bits per weight) in %.2f s\n",
               positional[1].c_str(), std::string(opt.file_type->name).c_str(), opt.pure ? ", pure" : "",
               st.n_tensors, st.n_converted, st.n_with_imatrix, st.n_fallback, st.bytes_in / mib, st.bytes_out / mib,
               8.0 * static_cast<double>(st.bytes_out) / static_cast<double>(st.n_elements), st.seconds);
  return 0;
}

}  // namespace kestrel::cli
