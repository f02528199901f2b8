// Small synthetic models for tests that need no ../shared: `kestrel synth`'s
// "tiny" shape (llama, 2 layers, 8 heads / 4 KV heads of 32, vocabulary
// 512) in any file type, written once per test process into the temp dir.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "models/synth.h"

namespace kestrel::test {

inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("kestrel_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

inline std::string make_tiny(const std::string& type, bool pure = false) {
  const std::string path = temp_path("tiny_" + type + (pure ? "_pure" : "") + ".gguf");
  if (std::filesystem::exists(path)) return path;
  SynthOptions opt;
  opt.shape = find_synth_shape("tiny");
  opt.file_type = find_file_type(type);
  opt.pure = pure;
  opt.n_threads = 2;
  write_synthetic_model(opt, path);
  return path;
}

}  // namespace kestrel::test
