// Shared helpers for the tokenizer tests: locating shared data, loading a
// tokenizer once per file, and reading llama.cpp's .inp/.out test vectors.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace kestrel::test {

inline std::string shared_path(const std::string& rel) { return std::string(KESTREL_SHARED_DIR) + "/" + rel; }

inline std::string vocab_path(const std::string& name) {
  return shared_path("data/vocab/ggml-vocab-" + name + ".gguf");
}

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Loads (and caches for the whole test binary) the tokenizer of a GGUF file.
// Returns nullptr when the file is missing.
inline const Tokenizer* cached_tokenizer(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second.get();
  if (!std::filesystem::exists(path)) return nullptr;
  auto reader = gguf::Reader::open(path);
  auto tok = Tokenizer::from_gguf(*reader);
  const Tokenizer* p = tok.get();
  cache.emplace(path, std::move(tok));
  return p;
}

struct VocabCase {
  std::string text;
  std::vector<TokenId> ids;
};

// Splits NAME.gguf.inp at "\n__ggml_vocab_test__\n" and pairs each string
// with the ids on the matching line of NAME.gguf.out, as llama.cpp's
// test-tokenizer-0 does (the text after the last separator, if any, is one
// more case).
inline std::vector<VocabCase> read_vocab_cases(const std::string& gguf_path) {
  const std::string inp = read_file_bytes(gguf_path + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(gguf_path + ".out");
  std::vector<VocabCase> cases;
  std::string line;
  for (size_t i = 0; std::getline(out, line); ++i) {
    VocabCase c;
    c.text = i < texts.size() ? texts[i] : std::string();
    std::istringstream ls(line);
    for (TokenId id; ls >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  if (cases.size() != texts.size()) cases.clear();  // malformed pair of files
  return cases;
}

}  // namespace kestrel::test
