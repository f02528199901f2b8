// SPM tokenization: score-ordered bigram merging over UTF-8 characters.
#include "tokenizer/spm_tokenizer.h"

#include <cstdio>
#include <queue>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/utf8.h"

namespace kestrel::tok {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

// A run of the text that is currently one piece; pieces form a linked list.
struct Piece {
  int prev;
  int next;
  size_t off;
  size_t len;  // 0 once merged into its left neighbour
};

// A candidate merge of two neighbouring pieces. `len` is the combined length
// when the candidate was made, so stale candidates can be recognised.
struct Candidate {
  int left;
  int right;
  float score;
  size_t len;
};

// Highest score first; among equal scores the leftmost pair.
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

std::string escape_spaces(std::string_view text, bool add_prefix) {
  std::string out;
  out.reserve(text.size() + 8);
  if (add_prefix) out += kSpaceMarker;
  for (char c : text) {
    if (c == ' ') out += kSpaceMarker;
    else out += c;
  }
  return out;
}

}  // namespace

std::unique_ptr<SpmTokenizer> SpmTokenizer::create(const gguf::Reader& r) {
  VocabDefaults d;
  d.bos = 1;
  d.eos = 2;
  d.unk = 0;
  d.add_bos = true;
  d.add_space_prefix = true;
  d.clean_spaces = false;
  Vocab v = load_vocab(r, d);
  const std::string pre(r.get_string_or("tokenizer.ggml.pre", ""));
  finalize_special_tokens(v, r, pre);
  return std::unique_ptr<SpmTokenizer>(new SpmTokenizer(std::move(v), pre));
}

SpmTokenizer::SpmTokenizer(Vocab v, std::string pre) : VocabTokenizer(std::move(v), "llama", std::move(pre)) {
  // Byte fallback: "<0xXX>" first, then the byte as a one-character token.
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    TokenId id = vocab_.find(name);
    if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(b)));
    byte_tokens_[b] = id;
  }
}

void SpmTokenizer::encode_fragments(std::span<const Fragment> frags, std::vector<TokenId>& out) const {
  bool after_special = true;  // the start of the text counts as "after a special token"
  for (const Fragment& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    encode_escaped(escape_spaces(f.text, vocab_.add_space_prefix && after_special), out);
    after_special = false;
  }
}

void SpmTokenizer::append_bytes(std::string_view piece, std::vector<TokenId>& out) const {
  for (char c : piece) {
    const TokenId id = byte_tokens_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      out.push_back(id);
    } else if (vocab_.unk >= 0) {
      out.push_back(vocab_.unk);
    } else {
      throw Error("SPM vocabulary has no token for byte " + std::to_string(static_cast<uint8_t>(c)) +
                  " and no unknown token");
    }
  }
}

void SpmTokenizer::encode_escaped(std::string_view text, std::vector<TokenId>& out) const {
  std::vector<Piece> pieces;
  pieces.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int idx = static_cast<int>(pieces.size());
    pieces.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1, off, len});
    off += len;
  }

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  auto propose = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t len = pieces[left].len + pieces[right].len;
    const TokenId id = vocab_.find(text.substr(pieces[left].off, len));
    if (id < 0) return;
    queue.push({left, right, vocab_.scores[static_cast<size_t>(id)], len});
  };
  for (int i = 1; i < static_cast<int>(pieces.size()); ++i) propose(i - 1, i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Piece& l = pieces[c.left];
    Piece& r = pieces[c.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != c.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) pieces[r.next].prev = c.left;
    propose(l.prev, c.left);
    propose(c.left, l.next);
  }

  // Every merged piece is a token by construction; single characters that
  // are not go out as bytes.
  for (int i = pieces.empty() ? -1 : 0; i >= 0; i = pieces[i].next) {
    const std::string_view s = text.substr(pieces[i].off, pieces[i].len);
    const TokenId id = vocab_.find(s);
    if (id >= 0) out.push_back(id);
    else append_bytes(s, out);
  }
}

std::string SpmTokenizer::normal_piece(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpaceMarker.size()) == kSpaceMarker) {
      out += ' ';
      i += kSpaceMarker.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace kestrel::tok
