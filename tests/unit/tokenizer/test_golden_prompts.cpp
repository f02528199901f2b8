// Golden prompts: the prompt tokens llama.cpp produced (add_special=true,
// parse_special=false) for every model in shared/data/golden must be
// reproduced exactly by the tokenizer loaded from the same GGUF.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "test_helpers.h"

namespace kestrel::test {
namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> golden_models() {
  std::vector<std::string> names;
  const std::filesystem::path dir = shared_path("data/golden");
  if (!std::filesystem::is_directory(dir)) return names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json" && std::filesystem::exists(dir / (e.path().stem().string() + ".gguf"))) {
      names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(GoldenPrompts, EveryModelReproducesPromptTokens) {
  const std::vector<std::string> models = golden_models();
  if (models.empty()) GTEST_SKIP() << "no golden models under " << shared_path("data/golden");
  const std::string dir = shared_path("data/golden/");
  size_t n_checked = 0;
  for (const std::string& name : models) {
    SCOPED_TRACE(name);
    const nlohmann::json j = nlohmann::json::parse(read_file_bytes(dir + name + ".json"));
    const Tokenizer* tok = cached_tokenizer(dir + name + ".gguf");
    ASSERT_NE(tok, nullptr);
    ASSERT_EQ(j.at("n_vocab").get<int>(), tok->n_vocab());

    // The prompts are the lines of NAME.prompts.txt (or prompts.txt), verbatim.
    const std::string own = dir + name + ".prompts.txt";
    const std::vector<std::string> prompts = read_lines(std::filesystem::exists(own) ? own : dir + "prompts.txt");
    const auto& cases = j.at("cases");
    ASSERT_EQ(cases.size(), prompts.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::string prompt = cases[i].at("prompt").get<std::string>();
      EXPECT_EQ(prompt, prompts[i]) << "case " << i;
      const auto expected = cases[i].at("tokens").get<std::vector<TokenId>>();
      EXPECT_EQ(tok->encode(prompt, /*add_special=*/true, /*parse_special=*/false), expected)
          << "prompt " << i << ": '" << prompt << "'";
      ++n_checked;
    }
  }
  EXPECT_GT(n_checked, 0u);
  RecordProperty("prompts_checked", static_cast<int>(n_checked));
}

}  // namespace
}  // namespace kestrel::test
