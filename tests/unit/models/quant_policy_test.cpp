// The per-tensor type policy against llama.cpp's own choices: every tensor
// of the golden Q4_K_M file (made by llama-quantize) must get the type
// llama.cpp gave it, and the fallbacks for odd row lengths follow llama.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "gguf/gguf_reader.h"
#include "models/quant_policy.h"

namespace kestrel {
namespace {

TEST(QuantPolicy, ReproducesLlamaCppQ4KMChoices) {
  const std::string path = std::string(KESTREL_SHARED_DIR) + "/data/golden/llama-spm-Q4_K_M.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared data not found: " << path;
  const auto r = gguf::Reader::open(path);
  const FileTypeInfo* ft = find_file_type("Q4_K_M");
  ASSERT_NE(ft, nullptr);
  const bool tied = r->find_tensor("output.weight") == nullptr;
  const int n_layer = static_cast<int>(*r->get_int("llama.block_count"));
  const int64_t gqa = *r->get_int("llama.attention.head_count") / *r->get_int("llama.attention.head_count_kv");
  int checked = 0;
  for (const auto& t : r->tensors()) {
    TensorPlace p;
    p.name = t.name;
    p.row_length = t.ne[0];
    p.n_dims = static_cast<int>(t.ne.size());
    p.n_layer = n_layer;
    p.n_gqa = gqa;
    p.tied_embeddings = tied;
    if (t.name.rfind("blk.", 0) == 0) p.layer = std::stoi(std::string(t.name.substr(4)));
    EXPECT_EQ(static_cast<int>(tensor_type_for(*ft, p, DType::F32, false)), static_cast<int>(t.type)) << t.name;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(QuantPolicy, OutputAndTiedEmbeddingGoToQ6K) {
  const FileTypeInfo& q40 = *find_file_type("q4_0");
  TensorPlace out{"output.weight", 4096, 2, -1, 32, 4, false};
  EXPECT_EQ(tensor_type_for(q40, out, DType::F32, false), DType::Q6_K);
  EXPECT_EQ(tensor_type_for(q40, out, DType::F32, true), DType::Q4_0);  // --pure
  TensorPlace emb{"token_embd.weight", 4096, 2, -1, 32, 4, true};
  EXPECT_EQ(tensor_type_for(q40, emb, DType::F32, false), DType::Q6_K);
  emb.tied_embeddings = false;
  EXPECT_EQ(tensor_type_for(q40, emb, DType::F32, false), DType::Q4_0);
  const FileTypeInfo& q80 = *find_file_type("Q8_0");
  EXPECT_EQ(tensor_type_for(q80, out, DType::F32, false), DType::Q8_0);
}

TEST(QuantPolicy, NormsAndVectorsKeepTheirType) {
  const FileTypeInfo& ft = *find_file_type("Q4_K_M");
  TensorPlace norm{"blk.0.attn_norm.weight", 4096, 1, 0, 32, 4, false};
  EXPECT_EQ(tensor_type_for(ft, norm, DType::F32, false), DType::F32);
  TensorPlace bias{"blk.0.attn_q.bias", 896, 1, 0, 24, 7, true};
  EXPECT_EQ(tensor_type_for(ft, bias, DType::F32, false), DType::F32);
}

TEST(QuantPolicy, RowLengthFallbacksFollowLlamaCpp) {
  std::string warning;
  EXPECT_EQ(fallback_for_row_length(DType::Q4_K, 896, &warning), DType::Q5_0);
  EXPECT_NE(warning.find("896"), std::string::npos);
  EXPECT_EQ(fallback_for_row_length(DType::Q5_K, 896), DType::Q5_1);
  EXPECT_EQ(fallback_for_row_length(DType::Q6_K, 896), DType::Q8_0);
  EXPECT_EQ(fallback_for_row_length(DType::Q2_K, 896), DType::Q4_0);
  EXPECT_EQ(fallback_for_row_length(DType::Q3_K, 896), DType::Q4_0);
  EXPECT_EQ(fallback_for_row_length(DType::Q4_K, 40), DType::F16);  // not even a multiple of 32
  EXPECT_EQ(fallback_for_row_length(DType::Q4_K, 4096), DType::Q4_K);
  // Qwen2.5-0.5B (n_embd 896) in Q4_K_M: the output falls back to Q8_0 as llama.cpp does.
  TensorPlace out{"token_embd.weight", 896, 2, -1, 24, 7, true};
  EXPECT_EQ(tensor_type_for(*find_file_type("Q4_K_M"), out, DType::F32, false), DType::Q8_0);
}

TEST(QuantPolicy, Q4KMBumpsAttnVAndFfnDownInUseMoreBitsLayers) {
  const FileTypeInfo& ft = *find_file_type("Q4_K_M");
  // 16 layers: use_more_bits selects 0,1 (first eighth), 14,15 (last eighth), 4,7,10,13.
  const std::vector<int> bumped = {0, 1, 4, 7, 10, 13, 14, 15};
  for (int l = 0; l < 16; ++l) {
    const bool more = std::find(bumped.begin(), bumped.end(), l) != bumped.end();
    const std::string v = "blk." + std::to_string(l) + ".attn_v.weight";
    const std::string d = "blk." + std::to_string(l) + ".ffn_down.weight";
    EXPECT_EQ(tensor_type_for(ft, {v, 2048, 2, l, 16, 4, true}, DType::F32, false), more ? DType::Q6_K : DType::Q4_K) << v;
    EXPECT_EQ(tensor_type_for(ft, {d, 8192, 2, l, 16, 4, true}, DType::F32, false), more ? DType::Q6_K : DType::Q4_K) << d;
  }
}

TEST(QuantPolicy, FileTypeLookup) {
  EXPECT_EQ(find_file_type("q4_k_m")->ft, FileType::Q4_K_M);
  EXPECT_EQ(find_file_type(FileType::Q8_0)->base, DType::Q8_0);
  EXPECT_EQ(find_file_type("Q9_9"), nullptr);
  EXPECT_NE(file_type_list().find("Q5_K_S"), std::string::npos);
}

}  // namespace
}  // namespace kestrel
