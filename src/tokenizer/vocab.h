// The vocabulary shared by all tokenizer kinds: token texts, scores, token
// attributes, the special-token ids and the flags llama.cpp derives from GGUF
// metadata (tokenizer.ggml.*).
//
// load_vocab() reads the arrays and keys; finalize_special_tokens() then
// applies llama.cpp's text-based fix-ups (EOT/EOM/FIM detection, the EOG list,
// "unused" control tokens, per-model strip attributes) and builds the list of
// tokens that text partitioning must look for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kestrel::tok {

// Token attributes as bit flags (llama.cpp's llama_token_attr).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

// Defaults that depend on the tokenizer kind (and, for BPE, on the
// pre-tokenizer); GGUF keys override them.
struct VocabDefaults {
  TokenId bos = -1;
  TokenId eos = -1;
  TokenId unk = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  bool clean_spaces = false;
};

struct Vocab {
  std::vector<char> storage;             // all token texts, back to back
  std::vector<std::string_view> texts;   // views into storage
  std::vector<float> scores;             // 0 when the GGUF has none
  std::vector<uint32_t> attrs;           // TokenAttr bits
  std::unordered_map<std::string_view, TokenId> ids;

  TokenId bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  TokenId fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  bool clean_spaces = false;

  std::vector<TokenId> eog;             // sorted ascending
  std::vector<TokenId> special_tokens;  // control/user-defined/unknown, longest text first

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  // Id of a token text, or -1.
  TokenId find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
  bool has_attr(TokenId id, uint32_t a) const { return (attrs[static_cast<size_t>(id)] & a) != 0; }
};

// Reads tokens/scores/token_type and the special-token keys. Throws
// kestrel::Error for missing or malformed arrays, duplicate token texts, or an
// add_bos/add_eos request without the matching id.
Vocab load_vocab(const gguf::Reader& r, const VocabDefaults& defaults);

// llama.cpp's text-based special-token fix-ups; see the file comment.
// `pre` is tokenizer.ggml.pre (may be empty).
void finalize_special_tokens(Vocab& v, const gguf::Reader& r, std::string_view pre);

// One piece of input after special tokens have been cut out of it: either a
// run of raw text (a view into the input) or a special token id.
struct Fragment {
  TokenId token = -1;     // >= 0: a special token
  std::string_view text;  // raw text when token < 0
};

// Splits text at every occurrence of the vocabulary's special tokens, longest
// first, as llama.cpp's tokenizer_st_partition does. Control and unknown
// tokens are only considered when parse_special is set; user-defined ones
// always are. LSTRIP/RSTRIP attributes swallow neighbouring whitespace.
std::vector<Fragment> partition_special(const Vocab& v, std::string_view text, bool parse_special);

}  // namespace kestrel::tok
