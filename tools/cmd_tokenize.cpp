// `kestrel tokenize -m M.gguf -p TEXT`: token ids of a prompt.
//
// Loads only the tokenizer, so any GGUF with a vocabulary works, whatever
// its architecture. Prints "id -> 'piece'" lines, or a list with --ids.
#include <cstdio>
#include <string>

#include "commands.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace kestrel::cli {

int cmd_tokenize(Args& args) {
  std::string model, prompt;
  bool have_prompt = false, ids_only = false, add_special = true, parse_special = false;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: kestrel tokenize -m M.gguf (-p TEXT | -f FILE) [--ids] [--no-bos] [--parse-special]\n");
      return 0;
    }
    if (a == "-m" || a == "--model") model = args.value(a);
    else if (a == "-p" || a == "--prompt") prompt = args.value(a), have_prompt = true;
    else if (a == "-f" || a == "--file") prompt = read_file(args.value(a)), have_prompt = true;
    else if (a == "--ids") ids_only = true;
    else if (a == "--no-bos") add_special = false;
    else if (a == "--parse-special") parse_special = true;
    else Args::unknown("tokenize", a);
  }
  if (model.empty()) throw Error("kestrel tokenize: -m MODEL.gguf is required");
  if (!have_prompt) throw Error("kestrel tokenize: give a prompt with -p or -f");
  const auto reader = gguf::Reader::open(model);
  const auto tok = Tokenizer::from_gguf(*reader);
  const auto ids = tok->encode(prompt, add_special, parse_special);
  if (ids_only) {
    std::printf("[");
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? ", " : "", ids[i]);
    std::printf("]\n");
    return 0;
  }
  for (TokenId id : ids) {
    std::printf("%6d -> '%s'\n", id, tok->token_to_piece(id, true).c_str());
  }
  return 0;
}

}  // namespace kestrel::cli
