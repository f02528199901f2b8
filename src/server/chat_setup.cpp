// load_chat_template / tokenize_chat_prompt (chat_setup.h).
#include "server/chat_setup.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/file_io.h"

namespace kestrel::server {
namespace {

std::string token_text_or_empty(const Tokenizer& tok, TokenId id) {
  return id >= 0 ? std::string(tok.token_text(id)) : std::string();
}

std::string template_source(const Model& m, const std::string& choice) {
  if (!choice.empty()) {
    const auto names = chat::ChatTemplate::builtin_names();
    if (std::find(names.begin(), names.end(), choice) != names.end()) return chat::ChatTemplate::builtin_source(choice);
    std::error_code ec;
    if (std::filesystem::is_regular_file(choice, ec)) return read_text_file(choice);
    return chat::ChatTemplate::builtin_source(choice);  // throws, listing the built-in names
  }
  if (auto t = m.gguf().get_string("tokenizer.chat_template")) return std::string(*t);
  std::fprintf(stderr, "warning: the model has no chat template; using chatml\n");
  return chat::ChatTemplate::builtin_source("chatml");
}

}  // namespace

std::unique_ptr<chat::ChatTemplate> load_chat_template(const Model& m, const std::string& choice) {
  const Tokenizer& tok = m.tokenizer();
  return std::make_unique<chat::ChatTemplate>(template_source(m, choice), token_text_or_empty(tok, tok.bos()),
                                              token_text_or_empty(tok, tok.eos()));
}

std::vector<TokenId> tokenize_chat_prompt(const Tokenizer& tok, const std::string& rendered) {
  const std::string bos = token_text_or_empty(tok, tok.bos());
  const bool has_bos = !bos.empty() && rendered.compare(0, bos.size(), bos) == 0;
  return tok.encode(rendered, !has_bos, true);
}

}  // namespace kestrel::server
