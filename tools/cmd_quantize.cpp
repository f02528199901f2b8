// `kestrel quantize [--pure] [--allow-requantize] [--imatrix F] [--tensor-type NAME=TYPE]...
//                   [-t N] [--force] IN.gguf OUT.gguf TYPE [N_THREADS]`
//
// llama-quantize's interface over convert/model_quantizer.h; TYPE is a file
// type (Q4_K_M, Q8_0, ...), llama.cpp's aliases Q3_K/Q4_K/Q5_K for the _M
// mixes, or a numeric ftype id. OUT may not be IN or the imatrix (also
// through links), nor replace a file that is not a GGUF model without
// --force (output_guard.h); a signal stops it leaving no file behind.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "convert/imatrix.h"
#include "convert/model_quantizer.h"
#include "options.h"
#include "output_guard.h"

namespace kestrel::cli {
namespace {

struct QuantizeCliOptions {
  QuantizeOptions opt;
  std::vector<std::string> positional;
  std::string imatrix_path;
  bool force = false, threads_flag = false;
};

CommandLine quantize_command_line(QuantizeCliOptions& o) {
  CommandLine cl;
  cl.name = "quantize";
  cl.usage = "quantize [options] IN.gguf OUT.gguf TYPE [N_THREADS]";
  cl.description = "Rewrites a GGUF model with its matrices in TYPE: " + quantize_type_names() + ".";
  cl.options = {
      switch_option({"--pure"}, "every matrix in TYPE's base type (no per-tensor mix)", o.opt.pure),
      switch_option({"--allow-requantize"}, "accept an already quantized source (quality suffers)",
                    o.opt.allow_requantize),
      string_option({"--imatrix"}, "F", "importance matrix from `kestrel imatrix` (or llama-imatrix)", o.imatrix_path),
      repeatable(value_option({"--tensor-type"}, "NAME=TYPE", "tensors whose name matches the regex NAME get type TYPE",
                              "none", [&o](const std::string&, const std::string& v) {
                                o.opt.overrides.push_back(parse_tensor_type_override(v));
                              })),
      value_option({"-t", "--threads"}, "N", "threads (also the optional N_THREADS argument)", thread_default_text(),
                   [&o](const std::string& f, const std::string& v) {
                     o.opt.n_threads = static_cast<int>(parse_int(f, v, 1, 1024));
                     o.threads_flag = true;
                   }),
      force_option(o.force),
  };
  cl.positional = [&o](const std::string& a) { o.positional.push_back(a); };
  return cl;
}

void check_quantize(QuantizeCliOptions& o) {
  const auto& pos = o.positional;
  if (pos.size() < 3 || pos.size() > 4) {
    throw Error("kestrel quantize: expected IN.gguf OUT.gguf TYPE [N_THREADS] (see --help)");
  }
  o.opt.file_type = &parse_quantize_type(pos[2]);
  if (pos.size() == 4) {
    const int n = static_cast<int>(parse_int("N_THREADS", pos[3], 1, 1024));
    if (o.threads_flag && n != o.opt.n_threads) {
      throw Error("kestrel quantize: -t " + std::to_string(o.opt.n_threads) + " and N_THREADS " + pos[3] +
                  " disagree; give one");
    }
    o.opt.n_threads = n;
  }
}

}  // namespace

void validate_quantize_args(Args& args) { validate_options(args, quantize_command_line, check_quantize); }

int cmd_quantize(Args& args) {
  QuantizeCliOptions o;
  if (!parse_options(args, o, quantize_command_line, check_quantize)) return 0;
  const std::string& in = o.positional[0];
  const std::string& out = o.positional[1];
  QuantizeOptions& opt = o.opt;
  check_output_path(out, {in, o.imatrix_path}, OutputKind::GgufModel, o.force);
  ImportanceMatrix imatrix;
  if (!o.imatrix_path.empty()) {
    imatrix = ImportanceMatrix::read(o.imatrix_path);
    opt.imatrix = &imatrix;
    opt.imatrix_path = o.imatrix_path;
    std::fprintf(stderr, "imatrix %s: %zu entries from %u chunks\n", o.imatrix_path.c_str(), imatrix.entries.size(),
                 imatrix.chunk_count);
  }
  opt.progress = true;
  const QuantizeStats st = quantize_model_file(in, out, opt);
  const double mib = 1024.0 * 1024.0;
  std::fprintf(stderr,
               "wrote %s (%s%s): %d tensors, %d converted (%d with imatrix, %d fallbacks), "
               "%.2f MiB -> %.2f MiB (%.2f bits per weight) in %.2f s\n",
               out.c_str(), std::string(opt.file_type->name).c_str(), opt.pure ? ", pure" : "", st.n_tensors,
               st.n_converted, st.n_with_imatrix, st.n_fallback, st.bytes_in / mib, st.bytes_out / mib,
               st.n_elements ? 8.0 * static_cast<double>(st.bytes_out) / static_cast<double>(st.n_elements) : 0.0,
               st.seconds);
  return 0;
}

}  // namespace kestrel::cli
