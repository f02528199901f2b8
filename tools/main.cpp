// kestrel CLI entry point: `kestrel <subcommand> [options]`.
//
// A table maps subcommand names to their functions. Any kestrel::Error (bad
// flag, malformed file, prompt too long) is printed as "error: ..." and the
// process exits with status 1. SIGINT/SIGTERM are handled as
// core/interrupt.h describes: the command stops at its next checkpoint,
// cleans up, and the process exits with 130/143.
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "commands.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "version.h"

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
    {"batched-bench", kestrel::cli::cmd_batched_bench, "measure many sequences decoded together (llama-batched-bench method)"},
    {"perplexity", kestrel::cli::cmd_perplexity, "perplexity and KL divergence (llama-perplexity method)"},
    {"quantize", kestrel::cli::cmd_quantize, "quantize a GGUF model (llama-quantize types and mixes)"},
    {"imatrix", kestrel::cli::cmd_imatrix, "collect an importance matrix for quantize (llama-imatrix format)"},
    {"chat", kestrel::cli::cmd_chat, "chat in the terminal with the model's chat template"},
    {"serve", kestrel::cli::cmd_serve, "an OpenAI-compatible HTTP server with continuous batching"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: kestrel <command> [options]\n       kestrel --version\n\ncommands:\n");
  for (const auto& s : kSubcommands) {
    std::fprintf(out, "  %-13.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.help.size()), s.help.data());
  }
  std::fprintf(out, "\nrun `kestrel <command> --help` for a command's options\n");
}

int run_subcommand(const Subcommand& s, int argc, char** argv) {
  try {
    kestrel::cli::Args args(argc, argv, 2);
    return s.fn(args);
  } catch (const kestrel::Interrupted& e) {
    std::fprintf(stderr, "kestrel %.*s: %s; stopped, no output written\n", static_cast<int>(s.name.size()),
                 s.name.data(), e.what());
    return e.exit_status();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    usage(stdout);
    return 0;
  }
  try {
    kestrel::active_isa();  // a bad KESTREL_ISA is an error before anything runs
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (name == "--version" || name == "version") {
    std::fputs(kestrel::cli::version_text().c_str(), stdout);
    return 0;
  }
  kestrel::install_interrupt_handlers();
  for (const auto& s : kSubcommands) {
    if (s.name == name) return run_subcommand(s, argc, argv);
  }
  std::fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 1;
}
