// kestrel CLI entry point: `kestrel <subcommand> [options]`.
//
// A table maps subcommand names to their functions; any kestrel::Error (bad
// flag, malformed file, prompt too long) is printed as "error: ..." and the
// process exits with status 1.
#include <array>
#include <cstdio>
#include <exception>
#include <string_view>

#include "commands.h"
#include "core/error.h"

namespace {

struct Subcommand {
  std::string_view name;
  int (*fn)(kestrel::cli::Args&);
  std::string_view help;
};

constexpr Subcommand kSubcommands[] = {
    {"run", kestrel::cli::cmd_run, "generate text from a prompt"},
    {"logits", kestrel::cli::cmd_logits, "print top logits and greedy tokens as JSON"},
    {"inspect", kestrel::cli::cmd_inspect, "print a GGUF file's metadata and tensors"},
    {"tokenize", kestrel::cli::cmd_tokenize, "print the token ids of a prompt"},
    {"synth", kestrel::cli::cmd_synth, "write a random-weight model of a real shape"},
    {"bench", kestrel::cli::cmd_bench, "measure prompt and generation speed (llama-bench method)"},
    {"perplexity", kestrel::cli::cmd_perplexity, "perplexity and KL divergence (llama-perplexity method)"},
    {"quantize", kestrel::cli::cmd_quantize, "quantize a GGUF model (llama-quantize types and mixes)"},
    {"imatrix", kestrel::cli::cmd_imatrix, "collect an importance matrix for quantize (llama-imatrix format)"},
};

void usage() {
  std::fprintf(stderr, "usage: kestrel <command> [options]\n\ncommands:\n");
  for (const auto& s : kSubcommands) {
    std::fprintf(stderr, "  %-10.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.help.size()), s.help.data());
  }
  std::fprintf(stderr, "\nrun `kestrel <command> --help` for a command's options\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 1;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    usage();
    return 0;
  }
  for (const auto& s : kSubcommands) {
    if (s.name != name) continue;
    try {
      kestrel::cli::Args args(argc, argv, 2);
      return s.fn(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
  usage();
  return 1;
}
