// `kestrel quantize` against llama-quantize's own output: the golden
// llama-spm files were made by llama.cpp from llama-spm-F16.gguf, so
// quantizing that F16 file must reproduce their blocks (legacy types: at
// least 99.9% of blocks, the bar), their per-tensor mix (Q4_K_M),
// their metadata and layout, and, for the K-quants, a KLD against the F16
// model no worse than 1.05x theirs. A file we write and load back gives
// the same logits as llama.cpp's file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>

#include "convert_test_util.h"
#include "gguf/gguf_reader.h"
#include "quant/type_traits.h"
#include "runtime/context.h"

namespace kestrel {
namespace {

using test::shared_path;

const std::string kF16 = "data/golden/llama-spm-F16.gguf";

std::string golden(const std::string& type) { return shared_path("data/golden/llama-spm-" + type + ".gguf"); }

// Our --pure quantizations of the golden F16 model, made once per type and
// shared by the tests below (the directory goes away at exit).
const std::string& ours(const std::string& type, bool pure = true) {
  static test::TempDir dir;
  static std::map<std::string, std::string> made;
  const std::string key = type + (pure ? "-pure" : "");
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type(type);
  opt.pure = pure;
  const std::string out = dir.file(key + ".gguf");
  test::quantize_quiet(shared_path(kF16), out, opt);
  return made.emplace(key, out).first->second;
}

struct BlockMatch {
  int64_t blocks = 0, equal = 0;
  int types_differ = 0;
  double percent() const { return blocks ? 100.0 * static_cast<double>(equal) / static_cast<double>(blocks) : 0.0; }
};

// Compares every quantized tensor of `a` with the same tensor of `b`, block by block.
BlockMatch compare_blocks(const gguf::Reader& a, const gguf::Reader& b) {
  BlockMatch m;
  for (const auto& ta : a.tensors()) {
    const gguf::TensorInfo* tb = b.find_tensor(ta.name);
    if (!tb || tb->type != ta.type || tb->nbytes != ta.nbytes) {
      ++m.types_differ;
      continue;
    }
    const TypeTraits& tt = type_traits(ta.type);
    if (!tt.is_quantized) continue;
    const uint8_t* pa = a.tensor_data(ta);
    const uint8_t* pb = b.tensor_data(*tb);
    for (uint64_t off = 0; off + tt.block_bytes <= ta.nbytes; off += tt.block_bytes) {
      ++m.blocks;
      m.equal += std::memcmp(pa + off, pb + off, tt.block_bytes) == 0;
    }
  }
  return m;
}

TEST(QuantizeGolden, PureQuantizationReproducesLlamaCppBlocks) {
  if (test::missing(shared_path(kF16))) GTEST_SKIP() << "shared data not found: " << shared_path(kF16);
  // The bar is for the legacy types; the K-quants are reported too
  // (and judged by KLD below).
  const std::vector<std::pair<std::string, bool>> types = {
      {"Q4_0", true}, {"Q4_1", true}, {"Q5_0", true}, {"Q5_1", true}, {"Q8_0", true},
      {"Q2_K", false}, {"Q3_K", false}, {"Q4_K", false}, {"Q5_K", false}, {"Q6_K", false}};
  for (const auto& [type, required] : types) {
    if (test::missing(golden(type))) continue;
    const auto mine = gguf::Reader::open(ours(type));
    const auto theirs = gguf::Reader::open(golden(type));
    const BlockMatch m = compare_blocks(*mine, *theirs);
    std::printf("  %-5s %lld / %lld blocks identical (%.4f%%)\n", type.c_str(), static_cast<long long>(m.equal),
                static_cast<long long>(m.blocks), m.percent());
    EXPECT_EQ(m.types_differ, 0) << type;
    EXPECT_GT(m.blocks, 0) << type;
    if (required) {
      EXPECT_GE(m.percent(), 99.9) << type;
    }
  }
}

TEST(QuantizeGolden, Q4KMMixMatchesLlamaCpp) {
  if (test::missing(shared_path(kF16)) || test::missing(golden("Q4_K_M"))) GTEST_SKIP() << "shared data not found";
  const auto src = gguf::Reader::open(shared_path(kF16));
  const auto gold = gguf::Reader::open(golden("Q4_K_M"));
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_K_M");
  opt.on_warning = [](const std::string& w) { ADD_FAILURE() << "unexpected warning: " << w; };
  const auto plan = plan_quantization(*src, opt);
  ASSERT_EQ(plan.size(), gold->tensors().size());
  int q6 = 0;
  for (const auto& p : plan) {
    const gguf::TensorInfo* g = gold->find_tensor(p.name);
    ASSERT_NE(g, nullptr) << p.name;
    EXPECT_EQ(type_traits(p.to).name, type_traits(g->type).name) << p.name;
    q6 += p.to == DType::Q6_K;
  }
  EXPECT_EQ(q6, 3);  // tied token_embd (the output) plus layer 1's attn_v and ffn_down
  const auto mine = gguf::Reader::open(ours("Q4_K_M", false));
  const BlockMatch m = compare_blocks(*mine, *gold);
  std::printf("  Q4_K_M mix: %.4f%% of %lld blocks identical\n", m.percent(), static_cast<long long>(m.blocks));
  EXPECT_EQ(m.types_differ, 0);
  EXPECT_GE(m.percent(), 99.9);
}

TEST(QuantizeGolden, MetadataAndLayoutAsLlamaQuantizeWritesThem) {
  if (test::missing(shared_path(kF16)) || test::missing(golden("Q4_0"))) GTEST_SKIP() << "shared data not found";
  const auto src = gguf::Reader::open(shared_path(kF16));
  const auto mine = gguf::Reader::open(ours("Q4_0"));
  // Every source key survives with its value, except the two re-set ones.
  for (const auto& kv : src->metadata()) {
    if (kv.key == "general.file_type") continue;
    const gguf::Value* v = mine->find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_EQ(static_cast<int>(v->type), static_cast<int>(kv.value.type)) << kv.key;
  }
  EXPECT_EQ(mine->get_int("general.file_type"), 2);  // LLAMA_FTYPE_MOSTLY_Q4_0
  EXPECT_EQ(mine->get_int("general.quantization_version"), 2);
  EXPECT_EQ(mine->get_array("tokenizer.ggml.tokens")->strings, src->get_array("tokenizer.ggml.tokens")->strings);
  // Same key order, tensor order, offsets and bytes as llama.cpp's file.
  EXPECT_TRUE(test::read_all(ours("Q4_0")) == test::read_all(golden("Q4_0"))) << "file differs from llama.cpp's";
  ASSERT_EQ(mine->tensors().size(), src->tensors().size());
  EXPECT_EQ(mine->tensors().front().name, "output_norm.weight");  // llama.cpp's loader order
}

TEST(QuantizeGolden, WrittenFileGivesTheLogitsOfLlamaCppsFile) {
  if (test::missing(shared_path(kF16)) || test::missing(golden("Q4_K_M"))) GTEST_SKIP() << "shared data not found";
  const auto mine = Model::load(ours("Q4_K_M", false));
  const auto theirs = Model::load(golden("Q4_K_M"));
  const auto tokens = mine->tokenizer().encode("Once upon a time, there was a little robot who loved to read books.",
                                               true, false);
  ContextParams cp;
  cp.n_ctx = 128;
  cp.n_threads = test::kEvalThreads;
  Context a(*mine, cp), b(*theirs, cp);
  a.decode(tokens, true);
  b.decode(tokens, true);
  const int64_t n_vocab = mine->config().n_vocab;
  ASSERT_EQ(a.n_outputs(), static_cast<int64_t>(tokens.size()));
  for (int64_t i = 0; i < a.n_outputs(); ++i) {
    ASSERT_EQ(std::memcmp(a.logits(i), b.logits(i), static_cast<size_t>(n_vocab) * sizeof(float)), 0)
        << "logits differ at position " << i;
  }
}

TEST(QuantizeGolden, KQuantKldWithin5PercentOfLlamaCpp) {
  const std::string text = shared_path("data/models/eval-news-from-nowhere.txt");
  if (test::missing(shared_path(kF16)) || test::missing(text)) GTEST_SKIP() << "shared data not found";
  const auto t0 = std::chrono::steady_clock::now();
  test::TempDir dir;
  const auto f16 = Model::load(shared_path(kF16));
  const auto tokens = test::tokenize_file(*f16, text);
  PerplexityOptions opt;
  opt.n_ctx = 128;
  opt.n_chunks = 4;
  opt.n_threads = test::kEvalThreads;
  opt.save_base = dir.file("base.kld");
  evaluate_perplexity(*f16, tokens, opt);
  std::printf("  type   KLD ours    KLD llama.cpp  ratio   (llama-spm, -c 128, 4 chunks)\n");
  for (const std::string type : {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}) {
    if (test::missing(golden(type))) continue;
    const KldReport mine = test::kld_of(ours(type), tokens, opt, opt.save_base);
    const KldReport theirs = test::kld_of(golden(type), tokens, opt, opt.save_base);
    const double ratio = mine.mean / theirs.mean;
    std::printf("  %-5s  %.6f    %.6f       %.4f\n", type.c_str(), mine.mean, theirs.mean, ratio);
    EXPECT_GT(theirs.mean, 0.0) << type;
    EXPECT_LE(ratio, 1.05) << type;
  }
  std::printf("  (%.1f s)\n", test::seconds_since(t0));
}

}  // namespace
}  // namespace kestrel
