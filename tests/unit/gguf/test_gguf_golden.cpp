// Reader tests on the golden llama.cpp files in /work/shared/data/golden.
//
// These files were written by llama.cpp's own tools, so they pin the reader to
// what real GGUF files look like: 32000-entry string/f32/i32 arrays, F32/F16
// and quantized tensors, the alignment and padding llama.cpp uses. Expected
// values are the model facts documented in the golden README (dim 256, 2
// layers, 8 heads, 4 KV heads, ffn 768, SPM vocab of 32000).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_type_sizes.h"

namespace kestrel::gguf {
namespace {

std::string golden(const std::string& name) {
  return std::string(KESTREL_SHARED_DIR) + "/data/golden/" + name;
}

#define SKIP_IF_MISSING(path) \
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing golden file " << (path)

TEST(GgufGolden, LlamaSpmF16Metadata) {
  const std::string path = golden("llama-spm-F16.gguf");
  SKIP_IF_MISSING(path);
  auto r = Reader::open(path);
  EXPECT_EQ(r->version(), 3u);
  EXPECT_EQ(r->alignment(), 32u);
  EXPECT_EQ(r->data_offset() % 32, 0u);
  EXPECT_EQ(r->get_string("general.architecture"), "llama");
  EXPECT_EQ(r->get_int("llama.embedding_length"), 256);
  EXPECT_EQ(r->get_int("llama.block_count"), 2);
  EXPECT_EQ(r->get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(r->get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(r->get_int("llama.feed_forward_length"), 768);
  EXPECT_DOUBLE_EQ(r->get_float_or("llama.rope.freq_base", 10000.0), 10000.0);
  EXPECT_EQ(r->get_string("tokenizer.ggml.model"), "llama");

  const Array* tokens = r->get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->elem_type, ValueType::STRING);
  ASSERT_EQ(tokens->size(), 32000u);
  EXPECT_EQ(tokens->strings[0], "<unk>");
  EXPECT_EQ(tokens->strings[1], "<s>");
  EXPECT_EQ(tokens->strings[2], "</s>");
  EXPECT_EQ(tokens->strings[3], "<0x00>");

  const Array* scores = r->get_array("tokenizer.ggml.scores");
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->elem_type, ValueType::F32);
  EXPECT_EQ(scores->floats.size(), 32000u);

  const Array* types = r->get_array("tokenizer.ggml.token_type");
  ASSERT_NE(types, nullptr);
  EXPECT_EQ(types->elem_type, ValueType::I32);
  ASSERT_EQ(types->ints.size(), 32000u);
  EXPECT_EQ(types->ints[0], 2);  // unknown
  EXPECT_EQ(types->ints[1], 3);  // control
  EXPECT_EQ(types->ints[3], 6);  // byte
  EXPECT_EQ(r->get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(r->get_int("tokenizer.ggml.eos_token_id"), 2);
}

TEST(GgufGolden, LlamaSpmF16Tensors) {
  const std::string path = golden("llama-spm-F16.gguf");
  SKIP_IF_MISSING(path);
  auto r = Reader::open(path);
  const TensorInfo* emb = r->find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->type, DType::F16);
  ASSERT_EQ(emb->ne.size(), 2u);
  EXPECT_EQ(emb->ne[0], 256);
  EXPECT_EQ(emb->ne[1], 32000);
  EXPECT_EQ(emb->nbytes, 256u * 32000u * 2u);

  const TensorInfo* norm = r->find_tensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->type, DType::F32);
  ASSERT_EQ(norm->ne.size(), 1u);
  EXPECT_EQ(norm->ne[0], 256);

  const TensorInfo* wk = r->find_tensor("blk.1.attn_k.weight");
  ASSERT_NE(wk, nullptr);
  EXPECT_EQ(wk->ne[0], 256);
  EXPECT_EQ(wk->ne[1], 128);  // 4 KV heads x head_dim 32
  EXPECT_EQ(r->find_tensor("no.such.tensor"), nullptr);

  // Tensors tile the data section exactly as the file's size implies.
  uint64_t end = 0;
  for (const TensorInfo& t : r->tensors()) {
    EXPECT_EQ(t.offset % r->alignment(), 0u) << t.name;
    EXPECT_EQ(r->tensor_data(t), reinterpret_cast<const uint8_t*>(r->tensor_data(r->tensors()[0])) + t.offset);
    end = std::max<uint64_t>(end, t.offset + t.nbytes);
  }
  EXPECT_LE(r->data_offset() + end, r->file_size());
  EXPECT_GE(r->data_offset() + end + r->alignment(), r->file_size());
  // 2 layers x 9 tensors + token_embd + output_norm (tied output).
  EXPECT_EQ(r->tensors().size(), 20u);
}

// Every golden file opens, and each tensor's byte size matches the gap to the
// next tensor (up to padding): this cross-checks the local type-size table
// against the sizes llama.cpp actually wrote.
TEST(GgufGolden, AllGoldenFilesOpenAndSizesMatchLayout) {
  const std::filesystem::path dir = golden("");
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "missing " << dir;
  int n_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".gguf") continue;
    ++n_files;
    auto r = Reader::open(e.path().string());
    const auto& ts = r->tensors();
    for (size_t i = 0; i + 1 < ts.size(); ++i) {
      const uint64_t gap = ts[i + 1].offset - ts[i].offset;
      EXPECT_LE(ts[i].nbytes, gap) << e.path() << " " << ts[i].name;
      EXPECT_GT(ts[i].nbytes + r->alignment(), gap) << e.path() << " " << ts[i].name;
    }
  }
  EXPECT_GT(n_files, 0);
}

TEST(GgufGolden, OpenIsFastOnLargeVocab) {
  const std::string path = golden("llama3-bpe-Q4_K.gguf");
  SKIP_IF_MISSING(path);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = Reader::open(path);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const Array* tokens = r->get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->size(), 128256u);
  const Array* merges = r->get_array("tokenizer.ggml.merges");
  ASSERT_NE(merges, nullptr);
  EXPECT_GT(merges->size(), 100000u);
  // Generous bound (shared, loaded machine); a per-string allocation design
  // is still well under it, a quadratic one is not.
  EXPECT_LT(ms, 1000.0);
}

TEST(GgufGolden, MissingFileNamesPath) {
  try {
    Reader::open("/nonexistent/dir/model.gguf");
    FAIL() << "expected kestrel::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kestrel::gguf
