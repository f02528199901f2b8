// Shared helpers for the convert tests: paths into the shared data, a
// self-deleting temporary directory, and "quantize, write, load, measure
// KLD" in one call, so each test reads as the claim it checks.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "convert/model_quantizer.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "models/model.h"

namespace kestrel::test {

// Threads for model evaluation in tests. One: the pool's workers spin
// between ops, which on a machine shared with other jobs costs three times
// the wall time of a single thread (measured: 16 chunks of the 4M model,
// 13 s with two threads vs 4 s with one under load).
constexpr int kEvalThreads = 1;

inline std::string shared_path(const std::string& rel) { return std::string(KESTREL_SHARED_DIR) + "/" + rel; }

// GTEST_SKIP only works in the test body itself, so callers write
// `if (missing(p)) GTEST_SKIP() << ...` through this predicate.
inline bool missing(const std::string& path) { return !std::filesystem::exists(path); }

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("kestrel-convert-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Names of everything in the directory (to prove nothing was left behind).
  std::vector<std::string> listing() const {
    std::vector<std::string> v;
    for (const auto& e : std::filesystem::directory_iterator(path_)) v.push_back(e.path().filename().string());
    return v;
  }

 private:
  std::filesystem::path path_;
};

// Expects `fn` to throw kestrel::Error whose message contains every part.
template <typename Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<TokenId> tokenize_file(const Model& m, const std::string& path) {
  return m.tokenizer().encode(read_all(path), true, false);
}

// Quantizes `src_path` with `opt` into `out_path` (warnings are collected,
// not printed) and returns the stats.
inline QuantizeStats quantize_quiet(const std::string& src_path, const std::string& out_path, QuantizeOptions opt,
                                    std::vector<std::string>* warnings = nullptr) {
  opt.on_warning = [warnings](const std::string& w) {
    if (warnings) warnings->push_back(w);
  };
  return quantize_model_file(src_path, out_path, opt);
}

// Mean KLD etc. of the model in `model_path` against the saved base.
inline KldReport kld_of(const std::string& model_path, std::span<const TokenId> tokens, PerplexityOptions opt,
                        const std::string& base) {
  const auto m = Model::load(model_path);
  opt.compare_base = base;
  opt.save_base.clear();
  const PerplexityResult r = evaluate_perplexity(*m, tokens, opt);
  EXPECT_TRUE(r.has_kld);
  return r.kld;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace kestrel::test
