// `kestrel logits -m M.gguf -f prompts.txt --top 20 --greedy 16`
//
// For each prompt line (used verbatim), prints the top-N logits at every
// prompt position and a greedy continuation with its per-step margins, as
// JSON in exactly the layout of llama.cpp's golden files
// (shared/data/golden/README.md), so the two can be compared directly.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "core/interrupt.h"
#include "options.h"
#include "runtime/context.h"

namespace kestrel::cli {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

// Indices of the n largest logits, largest first; ties keep the lower id.
std::vector<int32_t> top_n(const float* logits, int32_t n_vocab, int n) {
  std::vector<int32_t> idx(static_cast<size_t>(n_vocab));
  std::iota(idx.begin(), idx.end(), 0);
  n = std::min(n, n_vocab);
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  idx.resize(static_cast<size_t>(n));
  return idx;
}

struct LogitsOptions {
  std::string model_path, prompts_path;
  int top = 20, greedy = 16, threads = 0;
  int64_t n_ctx = 0;
};

CommandLine logits_command_line(LogitsOptions& o) {
  CommandLine cl;
  cl.name = "logits";
  cl.usage = "logits -m M.gguf -f prompts.txt [--top 20] [--greedy 16] [-t N] [-c N]";
  cl.description =
      "For each non-empty line of the prompts file: the top logits at every prompt position and a greedy\n"
      "continuation with its margins, as JSON in the layout of llama.cpp's golden files.";
  cl.options = {
      model_option(o.model_path),
      text_file_option("PROMPTS.txt", "one prompt per line", o.prompts_path),
      int_option({"--top"}, "N", "logits listed per position", o.top, 1, 1000),
      int_option({"--greedy"}, "N", "greedy continuation length", o.greedy, 0, 100000),
      threads_option(o.threads),
      ctx_size_option(o.n_ctx),
  };
  return cl;
}

}  // namespace

void validate_logits_args(Args& args) { validate_options(args, logits_command_line, nullptr); }

int cmd_logits(Args& args) {
  LogitsOptions o;
  if (!parse_options(args, o, logits_command_line, nullptr)) return 0;
  const std::string& model_path = o.model_path;
  const int top = o.top, greedy = o.greedy, threads = o.threads;
  const int64_t n_ctx = o.n_ctx;
  std::vector<std::string> prompts;
  {
    std::istringstream in(read_file(o.prompts_path));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) prompts.push_back(line);
    }
  }
  if (prompts.empty()) throw Error("kestrel logits: " + o.prompts_path + " holds no prompt (no non-empty line)");
  const auto model = Model::load(model_path, threads);
  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_threads = threads;
  Context ctx(*model, cp);
  const auto n_vocab = static_cast<int32_t>(model->config().n_vocab);

  std::string out = "{\"n_vocab\": " + std::to_string(n_vocab) + ", \"cases\": [\n";
  char buf[64];
  for (size_t pi = 0; pi < prompts.size(); ++pi) {
    checkpoint();  // a signal stops between prompts, before any JSON is printed
    const auto tokens = model->tokenizer().encode(prompts[pi], true, false);
    ctx.clear();
    ctx.decode(tokens, true);
    out += "{\"prompt\": " + json_string(prompts[pi]) + ", \"tokens\": [";
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? ", " : "") + std::to_string(tokens[i]);
    out += "], \"top" + std::to_string(top) + "\": [";
    for (size_t i = 0; i < tokens.size(); ++i) {
      const float* lg = ctx.logits(static_cast<int64_t>(i));
      out += i ? ", [" : "[";
      const auto best = top_n(lg, n_vocab, top);
      for (size_t j = 0; j < best.size(); ++j) {
        std::snprintf(buf, sizeof buf, "%s[%d, %.5f]", j ? ", " : "", best[j], lg[best[j]]);
        out += buf;
      }
      out += "]";
    }
    out += "], \"greedy\": [";
    std::string margins;
    std::vector<float> last(ctx.logits(static_cast<int64_t>(tokens.size()) - 1),
                            ctx.logits(static_cast<int64_t>(tokens.size()) - 1) + n_vocab);
    for (int g = 0; g < greedy; ++g) {
      const auto best = top_n(last.data(), n_vocab, 2);
      const float margin = best.size() > 1 ? last[best[0]] - last[best[1]] : 0.0f;
      out += (g ? ", " : "") + std::to_string(best[0]);
      std::snprintf(buf, sizeof buf, "%s%.4f", g ? ", " : "", margin);
      margins += buf;
      if (g + 1 < greedy) {
        const TokenId next = best[0];
        ctx.decode({&next, 1}, false);
        std::copy(ctx.logits(0), ctx.logits(0) + n_vocab, last.begin());
      }
    }
    out += "], \"greedy_margin\": [" + margins + "]}";
    out += pi + 1 < prompts.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace kestrel::cli
