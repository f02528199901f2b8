// Byte-level BPE: merge table construction and per-word merging.
#include "tokenizer/bpe_tokenizer.h"

#include <cstdio>
#include <queue>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8.h"

namespace kestrel::tok {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t off;
  size_t len;  // 0 once merged into its left neighbour
  int32_t id;  // symbol id, -1 if the text is unknown to the merge table
};

struct Candidate {
  int32_t rank;
  int left;
  int right;
  size_t len;  // combined length when proposed, to recognise stale candidates
};

// Lowest rank first; among equal ranks the leftmost pair.
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

std::unique_ptr<BpeTokenizer> BpeTokenizer::create(const gguf::Reader& r) {
  const std::optional<std::string_view> pre_key = r.get_string("tokenizer.ggml.pre");
  const std::string pre(pre_key.value_or(""));
  if (pre.empty()) {
    std::fprintf(stderr,
                 "kestrel: tokenizer: GGUF has no tokenizer.ggml.pre; using the 'default' pre-tokenizer "
                 "(tokenization may differ from the original model; consider regenerating the GGUF)\n");
  }
  std::unique_ptr<PreTokenizer> pre_tok = PreTokenizer::create(pre);

  VocabDefaults d;
  d.bos = 11;  // llama.cpp's BPE defaults
  d.eos = 11;
  d.add_bos = pre_tok->add_bos_default();
  d.add_space_prefix = false;
  d.clean_spaces = pre_tok->clean_spaces();
  Vocab v = load_vocab(r, d);
  finalize_special_tokens(v, r, pre);
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer(std::move(v), pre, std::move(pre_tok)));
  t->load_merges(r);
  return t;
}

BpeTokenizer::BpeTokenizer(Vocab v, std::string pre, std::unique_ptr<PreTokenizer> pre_tok)
    : VocabTokenizer(std::move(v), "gpt2", std::move(pre)), pre_tok_(std::move(pre_tok)) {}

int32_t BpeTokenizer::symbol_id(std::string_view s) const {
  const TokenId id = vocab_.find(s);
  if (id >= 0) return id;
  auto it = extra_symbol_ids_.find(s);
  return it == extra_symbol_ids_.end() ? -1 : it->second;
}

void BpeTokenizer::load_merges(const gguf::Reader& r) {
  const gguf::Array* a = r.get_array("tokenizer.ggml.merges");
  if (!a) throw Error("BPE vocabulary has no tokenizer.ggml.merges array");
  if (a->elem_type != gguf::ValueType::STRING) throw Error("tokenizer.ggml.merges must be an array of strings");

  // Each merge is "left right", split at the first space after the first
  // byte (so a left operand may itself be a space).
  struct Parsed { std::string_view left, right; };
  std::vector<Parsed> parsed(a->strings.size());
  auto intern = [&](std::string_view s) {
    if (symbol_id(s) >= 0) return;
    extra_symbols_.emplace_back(s);
    const auto id = static_cast<int32_t>(vocab_.size() + static_cast<int64_t>(extra_symbols_.size()) - 1);
    extra_symbol_ids_.emplace(extra_symbols_.back(), id);
  };
  for (size_t i = 0; i < a->strings.size(); ++i) {
    const std::string_view m = a->strings[i];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (sp == std::string_view::npos) continue;  // malformed: can never apply
    parsed[i] = {m.substr(0, sp), m.substr(sp + 1)};
    intern(parsed[i].left);
    intern(parsed[i].right);
  }

  merges_.reserve(parsed.size() * 2);
  std::string joined;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i].left.empty() || parsed[i].right.empty()) continue;
    joined.assign(parsed[i].left);
    joined += parsed[i].right;
    // The first occurrence of a pair keeps its (lower) rank.
    merges_.emplace(pair_key(symbol_id(parsed[i].left), symbol_id(parsed[i].right)),
                    Merge{static_cast<int32_t>(i), symbol_id(joined)});
  }
}

void BpeTokenizer::encode_fragments(std::span<const Fragment> frags, std::vector<TokenId>& out) const {
  std::string word;
  for (const Fragment& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      continue;
    }
    const NormalizedUtf8 norm = normalize_utf8_for_regex(f.text);
    for (std::string_view w : pre_tok_->split(norm)) {
      word.clear();
      append_byte_encoded(word, w);
      encode_word(word, out);
    }
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (pre_tok_->ignore_merges()) {
    const TokenId whole = vocab_.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }

  std::vector<Symbol> syms;
  syms.reserve(word.size());
  for (size_t off = 0; off < word.size();) {
    const size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(word[off])), word.size() - off);
    const int idx = static_cast<int>(syms.size());
    syms.push_back({idx - 1, off + len == word.size() ? -1 : idx + 1, off, len, symbol_id(word.substr(off, len))});
    off += len;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  auto propose = [&](int left, int right) {
    if (left < 0 || right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    auto it = merges_.find(pair_key(syms[left].id, syms[right].id));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, left, right, syms[left].len + syms[right].len});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) propose(i - 1, i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = syms[c.left];
    Symbol& r = syms[c.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != c.len) continue;  // stale
    l.id = merges_.at(pair_key(l.id, r.id)).result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    propose(l.prev, c.left);
    propose(c.left, l.next);
  }

  for (int i = 0; i >= 0; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id >= 0 && s.id < vocab_.size()) {
      out.push_back(s.id);
      continue;
    }
    // Not a token: llama.cpp looks each byte of the encoded text up as a
    // one-byte token and silently drops the ones it cannot find.
    for (char c : word.substr(s.off, s.len)) {
      const TokenId id = vocab_.find(std::string_view(&c, 1));
      if (id >= 0) out.push_back(id);
    }
  }
}

std::string BpeTokenizer::normal_piece(std::string_view text) const {
  // Map each character back to its byte; characters outside the byte map are
  // written as llama.cpp does ("[UNK_BYTE_0x..." + hex + token text + "]").
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(text[i])), text.size() - i);
    uint32_t cpt = static_cast<uint8_t>(text[i]);
    if (len > 1) {
      cpt &= (0xFFu >> (len + 1));
      for (size_t k = 1; k < len; ++k) cpt = (cpt << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
    }
    const bool stray_continuation = len == 1 && cpt >= 0x80;
    if (const auto b = unicode_to_byte(cpt); b && !stray_continuation) {
      out += static_cast<char>(*b);
    } else {
      out += "[UNK_BYTE_0x";
      char hex[4];
      for (size_t k = 0; k < len; ++k) {
        std::snprintf(hex, sizeof(hex), "%02x", static_cast<uint8_t>(text[i + k]));
        out += hex;
      }
      out += text;
      out += ']';
    }
    i += len;
  }
  return out;
}

}  // namespace kestrel::tok
