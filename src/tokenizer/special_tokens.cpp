// Special tokens: llama.cpp's text-based fix-ups of token attributes and
// special ids, the end-of-generation list, and cutting special-token text out
// of the input before the main tokenizer runs.
#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <span>

#include "gguf/gguf_reader.h"

namespace kestrel::tok {
namespace {

using Names = std::span<const std::string_view>;

// Token texts llama.cpp recognises when the GGUF lacks the matching id key.
constexpr std::string_view kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                             "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
                             "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                             "<end_of_utterance>"};
constexpr std::string_view kEomTexts[] = {"<|eom_id|>"};
constexpr std::string_view kFimPreTexts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
                                "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
                                "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"};
constexpr std::string_view kFimSufTexts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
                                "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>",
                                "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"};
constexpr std::string_view kFimMidTexts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
                                "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
                                "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};
// Texts that end generation whatever the id keys say.
constexpr std::string_view kEogTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                             "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
                             "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
                             "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                             "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                             "[e~["};
// gpt-oss chat markers that must always render (llama.cpp forces them to user-defined).
constexpr std::string_view kAlwaysRenderTexts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

bool one_of(std::string_view s, Names names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

// Fills `id` (when unset) with the token whose text comes first in `names`
// and marks it as control. llama.cpp takes the first hit in hash-map order,
// which is unspecified; list order is deterministic and picks the intended
// token when a vocabulary has several (e.g. <|eot_id|> over <|end_of_text|>).
void detect_by_text(Vocab& v, TokenId& id, Names names) {
  if (id >= 0) return;
  for (std::string_view name : names) {
    const TokenId t = v.find(name);
    if (t >= 0) {
      id = t;
      v.attrs[static_cast<size_t>(t)] |= kAttrControl;
      return;
    }
  }
}

void add_unique(std::vector<TokenId>& ids, TokenId id) {
  if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

void remove_id(std::vector<TokenId>& ids, TokenId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

// Two model families ship an EOG token that is not one: drop it as
// llama.cpp does.
void apply_eog_workarounds(Vocab& v) {
  TokenId end_id = -1, s_id = -1;
  bool has_return = false, has_call = false, has_flush = false, has_tool_response = false;
  for (TokenId t : v.eog) {
    const std::string_view s = v.texts[static_cast<size_t>(t)];
    if (s == "<|return|>") has_return = true;
    else if (s == "<|call|>" || s == "<|calls|>") has_call = true;
    else if (s == "<|flush|>") has_flush = true;
    else if (s == "<|end|>") end_id = t;
    else if (s == "<|tool_response>") has_tool_response = true;
    else if (s == "</s>") s_id = t;
  }
  // o200k_harmony / solar-open: "<|end|>" separates messages, it does not end generation.
  if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
    remove_id(v.eog, end_id);
    v.attrs[static_cast<size_t>(end_id)] = kAttrUserDefined;
  }
  // gemma4 / paddleocr: "</s>" is an ordinary token there.
  if (has_tool_response && s_id >= 0) {
    remove_id(v.eog, s_id);
    v.attrs[static_cast<size_t>(s_id)] = kAttrNormal;
  }
}

std::string lowercase_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void set_attr(Vocab& v, std::string_view text, uint32_t attr, bool on) {
  const TokenId id = v.find(text);
  if (id < 0) return;
  uint32_t& a = v.attrs[static_cast<size_t>(id)];
  a = on ? (a | attr) : (a & ~attr);
}

// Strip attributes llama.cpp sets per model, because GGUF does not carry them.
void apply_strip_attributes(Vocab& v, const gguf::Reader& r, std::string_view pre) {
  const std::string name = lowercase_ascii(r.get_string_or("general.name", ""));
  if (pre.find("jina-v2-de") != std::string_view::npos || pre.find("jina-v2-es") != std::string_view::npos ||
      pre.find("jina-v2-code") != std::string_view::npos) {
    set_attr(v, "<mask>", kAttrLstrip, true);
  } else if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (TokenId t : v.special_tokens) v.attrs[static_cast<size_t>(t)] |= kAttrRstrip;
    set_attr(v, "</s>", kAttrRstrip, true);
    for (std::string_view s : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(v, s, kAttrRstrip, false);
  }
}

bool is_c_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

void finalize_special_tokens(Vocab& v, const gguf::Reader& r, std::string_view pre) {
  detect_by_text(v, v.eot, kEotTexts);
  detect_by_text(v, v.eom, kEomTexts);
  detect_by_text(v, v.fim_pre, kFimPreTexts);
  detect_by_text(v, v.fim_suf, kFimSufTexts);
  detect_by_text(v, v.fim_mid, kFimMidTexts);
  detect_by_text(v, v.fim_pad, kFimPadTexts);
  detect_by_text(v, v.fim_rep, kFimRepTexts);
  detect_by_text(v, v.fim_sep, kFimSepTexts);

  // Control tokens named "...unused..." are placeholders.
  for (TokenId t = 0; t < v.size(); ++t) {
    uint32_t& a = v.attrs[static_cast<size_t>(t)];
    if ((a & kAttrControl) && v.texts[static_cast<size_t>(t)].find("unused") != std::string_view::npos) {
      a |= kAttrUnused;
    }
  }

  v.eog.clear();
  add_unique(v.eog, v.fim_pad);
  add_unique(v.eog, v.fim_rep);
  add_unique(v.eog, v.fim_sep);
  for (TokenId t = 0; t < v.size(); ++t) {
    const std::string_view s = v.texts[static_cast<size_t>(t)];
    if (one_of(s, kEogTexts)) {
      add_unique(v.eog, t);
      v.attrs[static_cast<size_t>(t)] |= kAttrControl;
    }
    if (one_of(s, kAlwaysRenderTexts)) v.attrs[static_cast<size_t>(t)] = kAttrUserDefined;
  }
  add_unique(v.eog, v.eos);
  add_unique(v.eog, v.eot);
  add_unique(v.eog, v.eom);
  apply_eog_workarounds(v);
  std::sort(v.eog.begin(), v.eog.end());

  v.special_tokens.clear();
  for (TokenId t = 0; t < v.size(); ++t) {
    if (v.has_attr(t, kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(t);
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(), [&](TokenId a, TokenId b) {
    return v.texts[static_cast<size_t>(a)].size() > v.texts[static_cast<size_t>(b)].size();
  });

  apply_strip_attributes(v, r, pre);
}

std::vector<Fragment> partition_special(const Vocab& v, std::string_view text, bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, text});
  std::vector<Fragment> next;
  for (TokenId id : v.special_tokens) {
    const uint32_t attr = v.attrs[static_cast<size_t>(id)];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string_view tok = v.texts[static_cast<size_t>(id)];

    bool found = false;
    for (const Fragment& f : frags) {
      if (f.token < 0 && f.text.find(tok) != std::string_view::npos) {
        found = true;
        break;
      }
    }
    if (!found) continue;

    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      while (!rest.empty()) {
        const size_t m = rest.find(tok);
        if (m == std::string_view::npos) {
          next.push_back({-1, rest});
          break;
        }
        std::string_view left = rest.substr(0, m);
        if (attr & kAttrLstrip) {
          while (!left.empty() && is_c_space(left.back())) left.remove_suffix(1);
        }
        if (!left.empty()) next.push_back({-1, left});
        next.push_back({id, {}});
        rest.remove_prefix(m + tok.size());
        if (attr & kAttrRstrip) {
          while (!rest.empty() && is_c_space(rest.front())) rest.remove_prefix(1);
        }
      }
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace kestrel::tok
