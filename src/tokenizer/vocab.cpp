// Loading the vocabulary arrays and special-token keys from GGUF metadata.
#include "tokenizer/vocab.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "gguf/gguf_reader.h"

namespace kestrel::tok {
namespace {

constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";

// GGUF token_type values (llama.cpp's llama_token_type) to attribute bits.
uint32_t attr_from_token_type(int64_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;
  }
}

void copy_texts(Vocab& v, const std::vector<std::string_view>& src) {
  // Empty texts get a placeholder name, as llama.cpp does, so that every
  // token has a unique, non-empty text.
  std::vector<std::string> placeholders(src.size());
  size_t total = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i].empty()) placeholders[i] = "[EMPTY_" + std::to_string(i) + "]";
    total += src[i].empty() ? placeholders[i].size() : src[i].size();
  }
  v.storage.resize(total);
  v.texts.resize(src.size());
  size_t off = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    const std::string_view s = src[i].empty() ? std::string_view(placeholders[i]) : src[i];
    std::copy(s.begin(), s.end(), v.storage.begin() + static_cast<std::ptrdiff_t>(off));
    v.texts[i] = std::string_view(v.storage.data() + off, s.size());
    off += s.size();
  }
  v.ids.reserve(src.size() * 2);
  for (size_t i = 0; i < src.size(); ++i) {
    auto [it, inserted] = v.ids.emplace(v.texts[i], static_cast<TokenId>(i));
    if (!inserted) {
      throw Error("duplicate token in vocabulary: '" + std::string(v.texts[i]) + "' has ids " +
                  std::to_string(it->second) + " and " + std::to_string(i));
    }
  }
}

void read_scores(Vocab& v, const gguf::Reader& r) {
  v.scores.assign(v.texts.size(), 0.0f);
  const gguf::Array* a = r.get_array(kScoresKey);
  if (!a) return;
  const size_t n = v.texts.size();
  if (a->elem_type == gguf::ValueType::F32 || a->elem_type == gguf::ValueType::F64) {
    if (a->floats.size() < n) throw Error("tokenizer.ggml.scores has fewer entries than tokens");
    for (size_t i = 0; i < n; ++i) {
      v.scores[i] = static_cast<float>(a->floats[i]);
      // Scores order the SPM merges; a NaN breaks that order (and the
      // priority queue's strict weak ordering) silently.
      if (std::isnan(v.scores[i])) throw Error("tokenizer.ggml.scores[" + std::to_string(i) + "] = nan: must be a number");
    }
  } else if (a->elem_type == gguf::ValueType::I32) {
    if (a->ints.size() < n) throw Error("tokenizer.ggml.scores has fewer entries than tokens");
    for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(a->ints[i]);
  } else {
    throw Error("tokenizer.ggml.scores must be an array of f32 or i32");
  }
}

void read_types(Vocab& v, const gguf::Reader& r) {
  v.attrs.assign(v.texts.size(), kAttrNormal);
  const gguf::Array* a = r.get_array(kTypesKey);
  if (!a) return;
  if (a->elem_type != gguf::ValueType::I32) throw Error("tokenizer.ggml.token_type must be an array of i32");
  if (a->ints.size() < v.texts.size()) throw Error("tokenizer.ggml.token_type has fewer entries than tokens");
  for (size_t i = 0; i < v.texts.size(); ++i) v.attrs[i] = attr_from_token_type(a->ints[i]);
}

// One optional id key. A default outside the vocabulary is disabled; a key
// outside it is ignored with a warning (llama.cpp does the same).
void read_special_id(const gguf::Reader& r, std::string_view key, TokenId& id, int32_t n) {
  if (id >= n) id = -1;
  const auto value = r.get_int(key);
  if (!value) return;
  if (*value < 0 || *value >= n) {
    std::fprintf(stderr, "kestrel: tokenizer: ignoring %.*s = %lld (vocabulary has %d tokens)\n",
                 static_cast<int>(key.size()), key.data(), static_cast<long long>(*value), n);
    return;
  }
  id = static_cast<TokenId>(*value);
}

}  // namespace

Vocab load_vocab(const gguf::Reader& r, const VocabDefaults& d) {
  const gguf::Array* tokens = r.get_array(kTokensKey);
  if (!tokens) throw Error("GGUF has no tokenizer.ggml.tokens array");
  if (tokens->elem_type != gguf::ValueType::STRING) throw Error("tokenizer.ggml.tokens must be an array of strings");
  if (tokens->strings.empty()) throw Error("tokenizer.ggml.tokens is empty");
  if (tokens->strings.size() > static_cast<size_t>(INT32_MAX)) throw Error("tokenizer.ggml.tokens is too large");

  Vocab v;
  copy_texts(v, tokens->strings);
  read_scores(v, r);
  read_types(v, r);

  v.bos = d.bos;
  v.eos = d.eos;
  v.unk = d.unk;
  v.add_bos = d.add_bos;
  v.add_eos = d.add_eos;
  v.add_space_prefix = r.get_bool_or("tokenizer.ggml.add_space_prefix", d.add_space_prefix);
  v.clean_spaces = d.clean_spaces;

  const int32_t n = v.size();
  const struct { std::string_view key; TokenId* id; } keys[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},
      {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},
      {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk},
      {"tokenizer.ggml.seperator_token_id", &v.sep},  // sic: the real key name
      {"tokenizer.ggml.padding_token_id", &v.pad},
      {"tokenizer.ggml.mask_token_id", &v.mask},
      {"tokenizer.ggml.fim_pre_token_id", &v.fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &v.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &v.fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &v.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &v.fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &v.fim_sep},
      // deprecated spellings of the FIM keys
      {"tokenizer.ggml.prefix_token_id", &v.fim_pre},
      {"tokenizer.ggml.suffix_token_id", &v.fim_suf},
      {"tokenizer.ggml.middle_token_id", &v.fim_mid},
  };
  for (const auto& k : keys) read_special_id(r, k.key, *k.id, n);

  v.add_bos = r.get_bool_or("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = r.get_bool_or("tokenizer.ggml.add_eos_token", v.add_eos);
  if (v.add_bos && v.bos < 0) throw Error("tokenizer.ggml.add_bos_token is true, but no BOS token id is set");
  if (v.add_eos && v.eos < 0) throw Error("tokenizer.ggml.add_eos_token is true, but no EOS token id is set");
  return v;
}

}  // namespace kestrel::tok
