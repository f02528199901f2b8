// A model's chat template as `serve` and `chat` use it: chosen by
// --chat-template (a built-in name or a Jinja file), else the GGUF's own,
// else chatml with a warning; and the rendered prompt to tokens (BOS added
// only when the template did not write it already).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "models/model.h"

namespace kestrel::server {

std::unique_ptr<chat::ChatTemplate> load_chat_template(const Model& m, const std::string& choice);
std::vector<TokenId> tokenize_chat_prompt(const Tokenizer& tok, const std::string& rendered);

}  // namespace kestrel::server
