// `kestrel quantize` behaviour on models built in the test: quality falls
// with bits on a random-weight synthetic model, the row-length fallback and
// its warning, --tensor-type overrides, requantizing, what a written file
// reads back as, and every user error (clear message, nothing left behind).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "convert/imatrix.h"
#include "convert_test_util.h"
#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "models/synth.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

using test::expect_error;
using test::shared_path;

std::string write_tiny_f16(const test::TempDir& dir) {
  SynthOptions so;
  so.shape = find_synth_shape("tiny");
  so.file_type = find_file_type("F16");
  so.n_threads = 2;
  const std::string path = dir.file("tiny-f16.gguf");
  write_synthetic_model(so, path);
  return path;
}

// The synthetic "tiny" model ties its output to a unit-variance embedding,
// so every position predicts its own input token with a logit ~11 sigma
// above the rest: all quantizations then agree (KLD ~1e-8) and measure
// nothing. Scaling the embedding by 0.15 keeps the random layers but gives
// a spread-out next-token distribution (self logit ~2.4 sigma), on which
// quantization error shows.
std::string write_tiny_f16_spread(const test::TempDir& dir) {
  const std::string raw = write_tiny_f16(dir);
  const auto r = gguf::Reader::open(raw);
  gguf::Writer w;
  for (const auto& kv : r->metadata()) w.set_value(kv.key, kv.value);
  const TypeTraits& f16 = type_traits(DType::F16);
  std::vector<uint8_t> scaled;
  for (const auto& t : r->tensors()) {
    const uint8_t* data = r->tensor_data(t);
    if (t.name == "token_embd.weight") {
      std::vector<float> v(static_cast<size_t>(t.n_elements()));
      f16.to_float(data, v.data(), t.n_elements());
      for (float& x : v) x *= 0.15f;
      scaled.resize(t.nbytes);
      f16.from_float(v.data(), scaled.data(), t.n_elements());
      data = scaled.data();
    }
    w.add_tensor(t.name, t.ne, t.type, data, t.nbytes);
  }
  const std::string path = dir.file("tiny-spread-f16.gguf");
  w.write_file(path);
  return path;
}

// A GGUF with F32 matrices of chosen shapes (random values), for the policy
// corner cases: not a runnable model, but quantize needs none.
struct OddTensor { std::string name; std::vector<int64_t> ne; };
std::string write_odd_model(const test::TempDir& dir, const std::vector<OddTensor>& tensors, float poison = 0.0f) {
  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 1);
  std::vector<std::vector<float>> data;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const auto& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    auto& v = data.emplace_back(static_cast<size_t>(n));
    for (float& x : v) x = nd(rng);
    if (poison != 0.0f) v[v.size() / 2] = poison;
    w.add_tensor(t.name, t.ne, DType::F32, v.data(), v.size() * sizeof(float));
  }
  const std::string path = dir.file("odd.gguf");
  w.write_file(path);
  return path;
}

TEST(QuantizeSynthetic, KldFallsAsBitsRise) {
  const std::string text = shared_path("data/models/eval-news-from-nowhere.txt");
  if (test::missing(text)) GTEST_SKIP() << "shared data not found: " << text;
  const auto t0 = std::chrono::steady_clock::now();
  test::TempDir dir;
  const std::string src = write_tiny_f16_spread(dir);
  const auto f16 = Model::load(src);
  const auto tokens = test::tokenize_file(*f16, text);
  PerplexityOptions opt;
  opt.n_ctx = 128;
  opt.n_chunks = 4;
  opt.n_threads = test::kEvalThreads;
  opt.save_base = dir.file("base.kld");
  evaluate_perplexity(*f16, tokens, opt);
  double previous = INFINITY;
  std::printf("  tiny synthetic (random weights, embedding x0.15), --pure, -c 128, 4 chunks:\n");
  for (const std::string type : {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"}) {
    QuantizeOptions q;
    q.file_type = &parse_quantize_type(type);
    q.pure = true;
    q.n_threads = 2;
    const std::string out = dir.file(type + ".gguf");
    test::quantize_quiet(src, out, q);
    const KldReport k = test::kld_of(out, tokens, opt, opt.save_base);
    std::printf("    %-5s mean KLD %.6f  top-1 %.2f%%\n", type.c_str(), k.mean, 100.0 * k.top1_agree);
    EXPECT_LT(k.mean, previous) << type;
    EXPECT_GT(k.mean, 0.0) << type;
    previous = k.mean;
  }
  std::printf("  (%.1f s)\n", test::seconds_since(t0));
}

TEST(QuantizeSynthetic, FileReadsBackAsQuantizedInMemory) {
  test::TempDir dir;
  const std::string src = write_tiny_f16(dir);
  const auto reader = gguf::Reader::open(src);
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_K_M");
  opt.n_threads = 3;  // thread count must not change a single byte
  opt.on_warning = [](const std::string&) {};
  const QuantizedModel qm = quantize_model(*reader, opt);
  const std::string out = dir.file("q4km.gguf");
  opt.n_threads = 1;
  test::quantize_quiet(src, out, opt);
  const std::vector<uint8_t> bytes = qm.writer().to_bytes();
  const std::string file = test::read_all(out);
  ASSERT_EQ(file.size(), bytes.size());
  EXPECT_EQ(std::memcmp(file.data(), bytes.data(), bytes.size()), 0);
  const auto back = gguf::Reader::open(out);
  ASSERT_EQ(back->tensors().size(), qm.plan().size());
  for (const auto& p : qm.plan()) {
    const gguf::TensorInfo* t = back->find_tensor(p.name);
    ASSERT_NE(t, nullptr) << p.name;
    EXPECT_EQ(t->type, p.to) << p.name;
    EXPECT_EQ(t->ne, p.ne) << p.name;
    size_t n = 0;
    const uint8_t* mem = qm.tensor_data(p.name, &n);
    ASSERT_EQ(n, t->nbytes) << p.name;
    EXPECT_EQ(std::memcmp(mem, back->tensor_data(*t), n), 0) << p.name;
  }
  EXPECT_EQ(back->get_int("general.file_type"), 15);
  // And the model loads and runs (the logits of a loaded file are compared
  // with llama.cpp's file in quantize_golden_test).
  const auto model = Model::load(out);
  EXPECT_EQ(model->weights().output.tt->type, DType::Q6_K);  // tied embedding = output -> Q6_K
}

TEST(QuantizeFallback, RowLengthNotMultipleOf256FallsBackWithWarning) {
  test::TempDir dir;
  const std::string src = write_odd_model(dir, {{"blk.0.attn_q.weight", {256, 4}},
                                                {"blk.0.ffn_down.weight", {96, 4}},
                                                {"blk.0.odd.weight", {40, 2}},
                                                {"blk.0.attn_norm.weight", {96}}});
  const auto reader = gguf::Reader::open(src);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Q4_K", "q5_0"}, {"Q5_K", "q5_1"}, {"Q6_K", "q8_0"}, {"Q2_K", "q4_0"}, {"Q3_K", "q4_0"}};
  for (const auto& [type, expected] : cases) {
    QuantizeOptions opt;
    opt.file_type = &parse_quantize_type(type);
    opt.pure = true;
    std::vector<std::string> warnings;
    opt.on_warning = [&](const std::string& w) { warnings.push_back(w); };
    const QuantizedModel qm = quantize_model(*reader, opt);
    std::map<std::string, DType> got;
    for (const auto& p : qm.plan()) got[p.name] = p.to;
    EXPECT_EQ(got["blk.0.attn_q.weight"], opt.file_type->base) << type;
    EXPECT_EQ(type_traits(got["blk.0.ffn_down.weight"]).name, expected) << type;
    EXPECT_EQ(got["blk.0.odd.weight"], DType::F16) << type;  // not even a multiple of 32
    EXPECT_EQ(got["blk.0.attn_norm.weight"], DType::F32) << type;
    EXPECT_EQ(qm.stats().n_fallback, 2) << type;
    ASSERT_EQ(warnings.size(), 2u) << type;
    EXPECT_NE(warnings[0].find("blk.0.ffn_down.weight"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("96"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find(expected), std::string::npos) << warnings[0];
    // The fallback data is the reference quantization of the source rows.
    size_t n = 0;
    const uint8_t* q = qm.tensor_data("blk.0.ffn_down.weight", &n);
    const TypeTraits& tt = type_traits(got["blk.0.ffn_down.weight"]);
    const auto* orig = reinterpret_cast<const float*>(reader->tensor_data(*reader->find_tensor("blk.0.ffn_down.weight")));
    std::vector<uint8_t> expect(row_bytes(tt, 96) * 4);
    for (int r = 0; r < 4; ++r) tt.from_float(orig + r * 96, expect.data() + r * row_bytes(tt, 96), 96);
    ASSERT_EQ(n, expect.size()) << type;
    EXPECT_EQ(std::memcmp(q, expect.data(), n), 0) << type;
  }
}

TEST(QuantizeOverrides, TensorTypeRegexWinsOverTheMixButNotTheFallback) {
  const std::string f16 = shared_path("data/golden/llama-spm-F16.gguf");
  if (test::missing(f16)) GTEST_SKIP() << "shared data not found: " << f16;
  const auto reader = gguf::Reader::open(f16);
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_K_M");
  opt.overrides = {parse_tensor_type_override("ATTN_V=q8_0"), parse_tensor_type_override("blk\\.1\\.ffn_down=Q2_K")};
  EXPECT_EQ(opt.overrides[0].pattern, "attn_v");  // lower-cased as llama.cpp does
  std::map<std::string, DType> got;
  for (const auto& p : plan_quantization(*reader, opt)) got[p.name] = p.to;
  EXPECT_EQ(got["blk.0.attn_v.weight"], DType::Q8_0);
  EXPECT_EQ(got["blk.1.attn_v.weight"], DType::Q8_0);    // the mix would say Q6_K
  EXPECT_EQ(got["blk.1.ffn_down.weight"], DType::Q2_K);  // the mix would say Q6_K
  EXPECT_EQ(got["blk.0.ffn_down.weight"], DType::Q4_K);
  EXPECT_EQ(got["token_embd.weight"], DType::Q6_K);
  EXPECT_EQ(got["blk.0.attn_norm.weight"], DType::F32);  // never quantized, override or not

  test::TempDir dir;
  const std::string odd = write_odd_model(dir, {{"blk.0.ffn_down.weight", {96, 4}}});
  const auto odd_reader = gguf::Reader::open(odd);
  opt.overrides = {parse_tensor_type_override("ffn_down=q4_k")};
  std::vector<std::string> warnings;
  opt.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  EXPECT_EQ(plan_quantization(*odd_reader, opt).front().to, DType::Q5_0);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(QuantizeRequantize, NeedsAllowRequantizeAndWarns) {
  const std::string q40 = shared_path("data/golden/llama-spm-Q4_0.gguf");
  if (test::missing(q40)) GTEST_SKIP() << "shared data not found: " << q40;
  test::TempDir dir;
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q8_0");
  opt.pure = true;
  const std::string out = dir.file("out.gguf");
  expect_error([&] { test::quantize_quiet(q40, out, opt); }, {"already quantized", "q4_0", "--allow-requantize"});
  EXPECT_TRUE(dir.listing().empty());
  opt.allow_requantize = true;
  std::vector<std::string> warnings;
  test::quantize_quiet(q40, out, opt, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("requantizing"), std::string::npos);
  // Q4_0 -> Q8_0 keeps the Q4_0 values almost exactly (8 bits hold 4).
  const auto a = gguf::Reader::open(q40), b = gguf::Reader::open(out);
  const gguf::TensorInfo* ta = a->find_tensor("blk.0.attn_q.weight");
  const gguf::TensorInfo* tb = b->find_tensor("blk.0.attn_q.weight");
  ASSERT_EQ(tb->type, DType::Q8_0);
  std::vector<float> fa(256), fb(256);
  type_traits(ta->type).to_float(a->tensor_data(*ta), fa.data(), 256);
  type_traits(tb->type).to_float(b->tensor_data(*tb), fb.data(), 256);
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(fa[i], fb[i], 0.01f * std::fabs(fa[i]) + 1e-3f) << i;
}

TEST(QuantizeErrors, Q2KSNeedsAnImatrixAsInLlamaCpp) {
  const std::string f16 = shared_path("data/golden/llama-spm-F16.gguf");
  if (test::missing(f16)) GTEST_SKIP() << "shared data not found: " << f16;
  const auto reader = gguf::Reader::open(f16);
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q2_K_S");
  expect_error([&] { plan_quantization(*reader, opt); }, {"Q2_K_S needs an importance matrix", "blk.0."});
  ImportanceMatrix im;  // flat importance for every block matrix
  for (const auto& t : reader->tensors()) {
    if (t.name.substr(0, 4) != "blk." || t.ne.size() < 2) continue;
    ImatrixEntry e;
    e.n_cols = t.ne[0];
    e.sum2.assign(static_cast<size_t>(t.ne[0]), 1.0);
    e.counts = {1};
    im.entries[std::string(t.name)] = e;
  }
  opt.imatrix = &im;
  opt.on_warning = [](const std::string& w) { ADD_FAILURE() << "unexpected warning: " << w; };
  const auto plan = plan_quantization(*reader, opt);
  int q2 = 0;
  for (const auto& p : plan) q2 += p.to == DType::Q2_K && p.with_imatrix;
  EXPECT_GT(q2, 0);
  im.entries.erase("blk.0.ffn_up.weight");
  opt.on_warning = [](const std::string&) {};
  expect_error([&] { plan_quantization(*reader, opt); }, {"no data for tensor blk.0.ffn_up.weight"});
}

TEST(QuantizeErrors, TypeNames) {
  EXPECT_EQ(parse_quantize_type("q4_k_m").ft, FileType::Q4_K_M);
  EXPECT_EQ(parse_quantize_type("Q4_K").ft, FileType::Q4_K_M);  // llama.cpp's alias
  EXPECT_EQ(parse_quantize_type("Q3_K").ft, FileType::Q3_K_M);
  EXPECT_EQ(parse_quantize_type("17").ft, FileType::Q5_K_M);    // numeric ftype id
  EXPECT_EQ(parse_quantize_type("Q6_K").base, DType::Q6_K);
  expect_error([] { parse_quantize_type("Q7_K"); }, {"unknown quantization type 'Q7_K'", "Q4_K_M", "Q8_0", "Q2_K"});
  expect_error([] { parse_quantize_type("99"); }, {"unknown quantization type"});
  expect_error([] { parse_tensor_type_override("attn_v"); }, {"NAME=TYPE"});
  expect_error([] { parse_tensor_type_override("=q8_0"); }, {"name is empty"});
  expect_error([] { parse_tensor_type_override("attn_v="); }, {"type is empty"});
  expect_error([] { parse_tensor_type_override("attn_v=q9_9"); }, {"unknown tensor type 'q9_9'", "q4_K"});
  expect_error([] { parse_tensor_type_override("attn_v=q8_K"); }, {"unknown tensor type"});  // activations only
  expect_error([] { parse_tensor_type_override("attn_(v=q8_0"); }, {"invalid regular expression"});
}

TEST(QuantizeErrors, BadFilesLeaveNothingBehind) {
  test::TempDir dir;
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_0");
  const std::string out = dir.file("out.gguf");
  expect_error([&] { test::quantize_quiet(dir.file("missing.gguf"), out, opt); }, {"missing.gguf"});
  {
    std::FILE* f = std::fopen(dir.file("text.gguf").c_str(), "wb");
    std::fputs("this is not a GGUF file at all, just some text", f);
    std::fclose(f);
  }
  expect_error([&] { test::quantize_quiet(dir.file("text.gguf"), out, opt); }, {"text.gguf"});
  std::filesystem::remove(dir.file("text.gguf"));
  const std::string src = write_odd_model(dir, {{"blk.0.attn_q.weight", {256, 4}}});
  expect_error([&] { test::quantize_quiet(src, dir.file("no/such/dir/out.gguf"), opt); }, {"cannot write", "no/such/dir"});
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"odd.gguf"});
}

TEST(QuantizeErrors, NonFiniteWeightsAreReportedAndNothingIsWritten) {
  test::TempDir dir;
  const std::string src = write_odd_model(dir, {{"blk.0.attn_q.weight", {256, 64}}}, NAN);
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_K_M");
  opt.n_threads = 2;
  expect_error([&] { test::quantize_quiet(src, dir.file("out.gguf"), opt); },
               {"blk.0.attn_q.weight", "row 32", "non-finite"});
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"odd.gguf"});
}

TEST(QuantizeErrors, ImatrixOfAnotherModelIsRejected) {
  test::TempDir dir;
  const std::string src = write_odd_model(dir, {{"blk.0.attn_q.weight", {256, 4}}, {"blk.0.ffn_down.weight", {512, 4}}});
  ImportanceMatrix im;
  ImatrixEntry e;
  e.n_cols = 768;  // the model's ffn_down rows are 512 long
  e.sum2.assign(768, 1.0);
  e.counts = {16};
  im.entries["blk.0.ffn_down.weight"] = e;
  QuantizeOptions opt;
  opt.file_type = &parse_quantize_type("Q4_K_M");
  opt.imatrix = &im;
  const std::string out = dir.file("out.gguf");
  expect_error([&] { test::quantize_quiet(src, out, opt); },
               {"blk.0.ffn_down.weight", "768", "512", "different model"});
  ImportanceMatrix other;
  e.n_cols = 256;
  e.sum2.assign(256, 1.0);
  other.entries["blk.0.mlp.fc1.weight"] = e;  // names of another architecture
  opt.imatrix = &other;
  expect_error([&] { test::quantize_quiet(src, out, opt); }, {"no entry for any tensor", "blk.0.mlp.fc1.weight"});
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"odd.gguf"});
  // Entries for layers this model lacks (an imatrix of a deeper model) are a warning.
  ImportanceMatrix deeper;
  deeper.entries["blk.0.attn_q.weight"] = e;
  deeper.entries["blk.5.attn_q.weight"] = e;
  opt.imatrix = &deeper;
  std::vector<std::string> warnings;
  const QuantizeStats st = test::quantize_quiet(src, out, opt, &warnings);
  EXPECT_EQ(st.n_with_imatrix, 1);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("no imatrix data for 1 tensor(s), quantized without: blk.0.ffn_down.weight"),
            std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("1 of 2 entries for tensors this model lacks"), std::string::npos) << warnings[1];
}

}  // namespace
}  // namespace kestrel
