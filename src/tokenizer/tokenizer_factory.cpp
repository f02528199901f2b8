// Tokenizer::from_gguf: picks the tokenizer kind named by tokenizer.ggml.model.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace kestrel {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::Reader& r) {
  const std::optional<std::string_view> model = r.get_string("tokenizer.ggml.model");
  if (!model) throw Error("GGUF has no tokenizer.ggml.model: the file carries no vocabulary");
  if (*model == "llama") return tok::SpmTokenizer::create(r);
  if (*model == "gpt2") return tok::BpeTokenizer::create(r);
  if (*model == "bert") {
    throw Error("tokenizer.ggml.model 'bert': the WPM (bert) tokenizer is not supported by kestrel");
  }
  throw Error("tokenizer.ggml.model '" + std::string(*model) +
              "' is not supported (kestrel supports 'llama' (SPM) and 'gpt2' (BPE))");
}

std::string_view Tokenizer::token_text(TokenId id) const {
  if (id < 0 || id >= n_vocab()) {
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(n_vocab()) +
                " tokens)");
  }
  return texts_[static_cast<size_t>(id)];
}

bool Tokenizer::is_eog(TokenId id) const {
  return id >= 0 && std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

}  // namespace kestrel
