// `kestrel tokenize -m M.gguf -p TEXT`: token ids of a prompt.
//
// Loads only the tokenizer, so any GGUF with a vocabulary works, whatever
// its architecture. Prints "id -> 'piece'" lines, with control characters
// and partial UTF-8 in a piece escaped (text_escape.h), or a list with --ids.
#include <cstdio>
#include <string>

#include "commands.h"
#include "gguf/gguf_reader.h"
#include "options.h"
#include "text_escape.h"
#include "tokenizer/tokenizer.h"

namespace kestrel::cli {
namespace {

struct TokenizeOptions {
  std::string model, prompt, prompt_file;
  bool have_prompt = false, ids_only = false, no_bos = false, parse_special = false;
};

CommandLine tokenize_command_line(TokenizeOptions& o) {
  CommandLine cl;
  cl.name = "tokenize";
  cl.usage = "tokenize -m M.gguf (-p TEXT | -f FILE) [--ids] [--no-bos] [--parse-special]";
  cl.description =
      "Prints the token ids of a text, one \"id -> 'piece'\" line each (control characters escaped as\n"
      "\\n, \\t, \\xNN), or a plain list with --ids. Any GGUF with a vocabulary works.";
  cl.options = {
      model_option(o.model, "GGUF file with a vocabulary"),
      switch_option({"--ids"}, "print only the list of ids", o.ids_only),
      switch_option({"--no-bos"}, "do not add BOS/EOS as the vocabulary asks", o.no_bos),
      switch_option({"--parse-special"}, "recognise special-token text such as <|eot_id|>", o.parse_special),
  };
  for (Option& p : prompt_options("text", o.prompt, o.prompt_file, o.have_prompt)) cl.options.push_back(std::move(p));
  cl.exclusive = {{"-p", "-f"}};
  return cl;
}

void check_tokenize(TokenizeOptions& o) {
  if (!o.have_prompt) throw Error("kestrel tokenize: give a prompt with -p or -f");
}

}  // namespace

void validate_tokenize_args(Args& args) { validate_options(args, tokenize_command_line, check_tokenize); }

int cmd_tokenize(Args& args) {
  TokenizeOptions o;
  if (!parse_options(args, o, tokenize_command_line, check_tokenize)) return 0;
  if (!o.prompt_file.empty()) o.prompt = read_file(o.prompt_file);
  const auto reader = gguf::Reader::open(o.model);
  const auto tok = Tokenizer::from_gguf(*reader);
  const auto ids = tok->encode(o.prompt, !o.no_bos, o.parse_special);
  if (o.ids_only) {
    std::printf("[");
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? ", " : "", ids[i]);
    std::printf("]\n");
    return 0;
  }
  for (TokenId id : ids) {
    std::printf("%6d -> '%s'\n", id, escape_text(tok->token_to_piece(id, true)).c_str());
  }
  return 0;
}

}  // namespace kestrel::cli
