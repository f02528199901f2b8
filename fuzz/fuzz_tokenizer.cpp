// libFuzzer target for the tokenizers: arbitrary bytes in, ids out.
//
// Built twice: fuzz_tokenizer_spm loads the SentencePiece vocabularies and
// fuzz_tokenizer_bpe the byte-level BPE ones (KESTREL_FUZZ_BPE), from the
// shared data (KESTREL_SHARED_DIR, or $KESTREL_SHARED at run time). The
// first input byte picks a vocabulary and the encode flags, the rest is the
// text. Invariants, each a finding when broken:
//   - encode never throws (any byte string is a valid text) and every id
//     is inside the vocabulary;
//   - token_to_piece and decode accept every id encode produced;
//   - without special-token parsing or added BOS/EOS, and for valid UTF-8,
//     decode(encode(s)) == s for SPM and clean_up_spaces(s) for BPE
//     vocabularies that clean spaces (the promise of docs/tokenizer.md),
//     except where llama.cpp itself loses text: SPM decodes a literal "▁"
//     (U+2581, its space marker) as a space, and byte-level BPE drops a
//     byte whose token the vocabulary lacks (falcon has no token for some
//     control bytes); such texts are excluded by `round_trips()`;
//   - encoding is deterministic (checked on one input in eight).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace {

using kestrel::Tokenizer;
using kestrel::TokenId;

#ifdef KESTREL_FUZZ_BPE
const char* const kVocabs[] = {"llama-bpe", "qwen2", "gpt-2", "deepseek-coder", "falcon", "starcoder"};
#else
const char* const kVocabs[] = {"llama-spm", "phi-3"};
#endif

struct Loaded {
  std::unique_ptr<Tokenizer> tok;
  bool lost[256] = {};  // bytes this vocabulary cannot represent (found at load)
};

std::vector<Loaded>& tokenizers() {
  static std::vector<Loaded> all = [] {
    const char* env = std::getenv("KESTREL_SHARED");
    const std::string dir = std::string(env ? env : KESTREL_SHARED_DIR) + "/data/vocab/";
    std::vector<Loaded> v;
    for (const char* name : kVocabs) {
      const std::string path = dir + "ggml-vocab-" + name + ".gguf";
      try {
        const auto r = kestrel::gguf::Reader::open(path);
        Loaded& l = v.emplace_back();
        l.tok = Tokenizer::from_gguf(*r);  // the tokenizer copies what it needs
        std::string lost;
        for (int b = 1; b < 0x80; ++b) {
          const std::string one(1, static_cast<char>(b));
          l.lost[b] = l.tok->decode(l.tok->encode(one, false, false)) != one && l.tok->model_name() == "gpt2" &&
                      l.tok->encode(one, false, false).empty();
          if (l.lost[b]) lost += " " + std::to_string(b);
        }
        if (!lost.empty()) std::fprintf(stderr, "fuzz_tokenizer: %s has no token for bytes%s\n", name, lost.c_str());
      } catch (const kestrel::Error& e) {
        std::fprintf(stderr, "fuzz_tokenizer: cannot load %s: %s\n", path.c_str(), e.what());
        std::abort();
      }
    }
    return v;
  }();
  return all;
}

void check(bool ok, const char* what, const std::string& text) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_tokenizer: invariant failed: %s (text of %zu bytes)\n", what, text.size());
  std::abort();
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// False for the texts llama.cpp's own round trip loses (see the top).
bool round_trips(const Loaded& l, const std::string& text) {
  if (l.tok->model_name() == "llama" && text.find("\xe2\x96\x81") != std::string::npos) return false;
  for (unsigned char c : text) {
    if (l.lost[c]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& toks = tokenizers();
  const Loaded& loaded = toks[data[0] % toks.size()];
  const Tokenizer& tok = *loaded.tok;
  const bool add_special = (data[0] >> 4) & 1, parse_special = (data[0] >> 5) & 1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<TokenId> ids;
  try {
    ids = tok.encode(text, add_special, parse_special);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encode threw: %s\n", e.what());
    check(false, "encode threw", text);
  }
  for (TokenId id : ids) check(id >= 0 && id < tok.n_vocab(), "id outside the vocabulary", text);
  for (TokenId id : ids) (void)tok.token_to_piece(id, true);
  const std::string back = tok.decode(ids);
  // Determinism on one input in eight: a second encode doubles the cost.
  if ((size & 7) == 0) check(tok.encode(text, add_special, parse_special) == ids, "encode is not deterministic", text);
  if (!add_special && !parse_special && valid_utf8(text) && round_trips(loaded, text)) {
    const std::string want = tok.clean_spaces() ? kestrel::tok::clean_up_spaces(text) : text;
    if (back != want) {
      std::fprintf(stderr, "round trip: vocabulary %s, decode gave %zu bytes, expected %zu\n",
                   kVocabs[data[0] % toks.size()], back.size(), want.size());
      check(false, "decode(encode(s)) differs from s", text);
    }
  }
  return 0;
}
