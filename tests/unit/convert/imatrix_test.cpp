// `kestrel imatrix`: the collector's sums against a hand computation, the
// llama.cpp GGUF layout and its round trip, bad files and texts, and the
// point of it all: on the trained test model an imatrix from one text
// lowers Q4_K_M's and Q2_K's KLD on another (held-out) text.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "convert/imatrix.h"
#include "convert_test_util.h"
#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "models/synth.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

using test::expect_error;
using test::shared_path;

WeightMatrix fake_matrix(std::string_view name, int64_t n_in) {
  WeightMatrix w;
  w.tt = &type_traits(DType::F32);
  w.n_in = n_in;
  w.n_out = 1;
  w.name = name;
  return w;
}

TEST(ImatrixCollector, SumsSquaresPerColumnLikeLlamaCpp) {
  ImatrixCollector col;
  std::vector<float> x(20 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 2.5f;
  col.observe(fake_matrix("blk.0.attn_q.weight", 3), x.data(), 20);
  col.observe(fake_matrix("blk.0.attn_q.weight", 3), x.data(), 16);
  col.observe(fake_matrix("blk.0.attn_k.weight", 3), x.data(), 15);  // < 16 rows: ignored
  col.observe(fake_matrix("output.weight", 3), x.data(), 20);        // not a block matrix
  col.observe(fake_matrix("token_embd.weight", 3), x.data(), 20);    // the tied output
  const ImportanceMatrix& im = col.result();
  ASSERT_EQ(im.entries.size(), 1u);
  const ImatrixEntry* e = im.find("blk.0.attn_q.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->counts, std::vector<int64_t>{36});
  for (int j = 0; j < 3; ++j) {
    double s2 = 0, s = 0;
    for (int t = 0; t < 20; ++t) s2 += x[t * 3 + j] * x[t * 3 + j], s += x[t * 3 + j];
    for (int t = 0; t < 16; ++t) s2 += x[t * 3 + j] * x[t * 3 + j], s += x[t * 3 + j];
    EXPECT_DOUBLE_EQ(e->sum2[j], s2);
    EXPECT_DOUBLE_EQ(e->sum[j], s);
    EXPECT_FLOAT_EQ(im.mean_squares("blk.0.attn_q.weight")[j], static_cast<float>(s2 / 36));
  }
  ImatrixCollector with_output(true);
  with_output.observe(fake_matrix("output.weight", 3), x.data(), 20);
  EXPECT_NE(with_output.result().find("output.weight"), nullptr);
  std::vector<float> bad(16 * 3, INFINITY);
  expect_error([&] { col.observe(fake_matrix("blk.0.attn_q.weight", 3), bad.data(), 16); },
               {"non-finite", "blk.0.attn_q.weight"});
}

TEST(ImatrixFile, LlamaCppLayoutAndRoundTrip) {
  test::TempDir dir;
  ImportanceMatrix im;
  im.datasets = {"some/text.txt"};
  im.chunk_count = 3;
  im.chunk_size = 512;
  ImatrixEntry a;
  a.n_cols = 4;
  a.sum2 = {1.5, 2.0, 0.25, 8.0};
  a.sum = {-1.0, 0.5, 0.0, 2.0};
  a.counts = {1536};
  im.entries["blk.1.ffn_down.weight"] = a;
  ImatrixEntry b = a;
  b.counts = {0};  // a matrix that saw no rows: importance defaults to 1
  im.entries["blk.0.attn_v.weight"] = b;
  const std::string path = dir.file("im.gguf");
  im.write(path);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"im.gguf"});

  const auto r = gguf::Reader::open(path);
  EXPECT_EQ(r->get_string("general.type"), "imatrix");
  EXPECT_EQ(r->get_int("imatrix.chunk_count"), 3);
  EXPECT_EQ(r->get_int("imatrix.chunk_size"), 512);
  ASSERT_NE(r->get_array("imatrix.datasets"), nullptr);
  EXPECT_EQ(r->get_array("imatrix.datasets")->strings.at(0), "some/text.txt");
  // Sorted by matrix name; per matrix in_sum2, counts, in_sum; all F32.
  const std::vector<std::string> names = {"blk.0.attn_v.weight.in_sum2", "blk.0.attn_v.weight.counts",
                                          "blk.0.attn_v.weight.in_sum",  "blk.1.ffn_down.weight.in_sum2",
                                          "blk.1.ffn_down.weight.counts", "blk.1.ffn_down.weight.in_sum"};
  ASSERT_EQ(r->tensors().size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(r->tensors()[i].name, names[i]);
    EXPECT_EQ(r->tensors()[i].type, DType::F32);
  }
  EXPECT_EQ(r->find_tensor("blk.1.ffn_down.weight.in_sum2")->ne, std::vector<int64_t>{4});
  EXPECT_EQ(r->find_tensor("blk.1.ffn_down.weight.counts")->ne, std::vector<int64_t>{1});

  const ImportanceMatrix back = ImportanceMatrix::read(path);
  EXPECT_EQ(back.datasets, im.datasets);
  EXPECT_EQ(back.chunk_count, 3u);
  EXPECT_EQ(back.chunk_size, 512u);
  ASSERT_EQ(back.entries.size(), 2u);
  const ImatrixEntry* e = back.find("blk.1.ffn_down.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n_cols, 4);
  EXPECT_EQ(e->counts, a.counts);
  EXPECT_EQ(e->sum2, a.sum2);  // exactly representable in F32
  EXPECT_EQ(e->sum, a.sum);
  EXPECT_FLOAT_EQ(back.mean_squares("blk.1.ffn_down.weight")[3], 8.0f / 1536);
  EXPECT_EQ(back.mean_squares("blk.0.attn_v.weight"), std::vector<float>(4, 1.0f));
  EXPECT_TRUE(back.mean_squares("blk.9.nothing.weight").empty());
}

TEST(ImatrixFile, BadFilesAreRejectedClearly) {
  test::TempDir dir;
  expect_error([&] { ImportanceMatrix::read(dir.file("none.gguf")); }, {"cannot read imatrix", "none.gguf"});
  // A GGUF that is a model, not an imatrix.
  gguf::Writer w;
  std::vector<float> v(32, 1.0f);
  w.add_tensor("blk.0.attn_q.weight", {32}, DType::F32, v.data(), v.size() * sizeof(float));
  w.write_file(dir.file("model.gguf"));
  expect_error([&] { ImportanceMatrix::read(dir.file("model.gguf")); }, {"not an imatrix"});
  // An entry without its counts.
  gguf::Writer w2;
  w2.add_tensor("blk.0.attn_q.weight.in_sum2", {32}, DType::F32, v.data(), v.size() * sizeof(float));
  w2.write_file(dir.file("half.gguf"));
  expect_error([&] { ImportanceMatrix::read(dir.file("half.gguf")); }, {"blk.0.attn_q.weight", "counts"});
  // Sums that do not divide among the counts.
  gguf::Writer w3;
  w3.add_tensor("x.weight.in_sum2", {32}, DType::F32, v.data(), v.size() * sizeof(float));
  w3.add_tensor("x.weight.counts", {1, 3}, DType::F32, v.data(), 3 * sizeof(float));
  w3.write_file(dir.file("uneven.gguf"));
  expect_error([&] { ImportanceMatrix::read(dir.file("uneven.gguf")); }, {"x.weight", "32 sums for 3 counts"});
}

TEST(ImatrixRun, CollectsEveryBlockMatrixOfASyntheticModel) {
  const std::string text = shared_path("data/text/tinyshakespeare.txt");
  if (test::missing(text)) GTEST_SKIP() << "shared data not found: " << text;
  test::TempDir dir;
  SynthOptions so;
  so.shape = find_synth_shape("tiny");
  so.file_type = find_file_type("F16");
  write_synthetic_model(so, dir.file("tiny.gguf"));
  ImatrixOptions opt;
  opt.n_ctx = 64;
  opt.n_chunks = 3;
  opt.n_batch = 32;  // two products of 32 rows per chunk
  opt.n_threads = test::kEvalThreads;
  const ImatrixRun run = compute_imatrix_file(dir.file("tiny.gguf"), text, dir.file("im.gguf"), opt);
  // 2 layers x (q, k, v, output, gate, up, down); the tied output is skipped.
  EXPECT_EQ(run.imatrix.entries.size(), 14u);
  for (const auto& [name, e] : run.imatrix.entries) {
    EXPECT_EQ(e.counts, std::vector<int64_t>{3 * 64}) << name;
    EXPECT_EQ(e.n_cols, name.find("ffn_down") != std::string::npos ? 768 : 256) << name;
  }
  const ImportanceMatrix back = ImportanceMatrix::read(dir.file("im.gguf"));
  EXPECT_EQ(back.entries.size(), 14u);
  EXPECT_EQ(back.datasets, std::vector<std::string>{text});
  EXPECT_EQ(back.chunk_count, 3u);
  EXPECT_EQ(back.chunk_size, 64u);
  // The running perplexity is llama-perplexity's figure on the same chunks.
  const auto model = Model::load(dir.file("tiny.gguf"));
  const auto tokens = test::tokenize_file(*model, text);
  PerplexityOptions po;
  po.n_ctx = 64;
  po.n_chunks = 3;
  po.n_batch = opt.n_batch;  // F16 products may round differently for another batch split
  po.n_threads = test::kEvalThreads;
  EXPECT_NEAR(run.ppl, evaluate_perplexity(*model, tokens, po).ppl, 1e-6 * run.ppl);
}

TEST(ImatrixRun, BadInputsFailWithoutOutput) {
  const std::string model = shared_path("data/models/kestrel-test-4m-F16.gguf");
  if (test::missing(model)) GTEST_SKIP() << "shared data not found: " << model;
  test::TempDir dir;
  ImatrixOptions opt;
  opt.n_ctx = 256;
  const std::string out = dir.file("im.gguf");
  expect_error([&] { compute_imatrix_file(model, dir.file("missing.txt"), out, opt); },
               {"cannot open", "missing.txt"});
  {
    std::FILE* f = std::fopen(dir.file("short.txt").c_str(), "wb");
    std::fputs("Far too short for a chunk.", f);
    std::fclose(f);
  }
  expect_error([&] { compute_imatrix_file(model, dir.file("short.txt"), out, opt); }, {"fewer than one chunk of 256"});
  expect_error([&] { compute_imatrix_file(model, dir.file("short.txt"), dir.file("no/dir/im.gguf"), opt); },
               {"cannot write"});
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"short.txt"});
}

// Σ over a matrix of importance x squared dequantization error: the
// quantity the weighted search trades off. Summed over every matrix the
// imatrix covers, so the check is deterministic and needs no evaluation.
double weighted_error(const gguf::Reader& src, const gguf::Reader& q, const ImportanceMatrix& im) {
  double total = 0;
  for (const auto& [name, e] : im.entries) {
    const gguf::TensorInfo* ts = src.find_tensor(name);
    const gguf::TensorInfo* tq = q.find_tensor(name);
    if (!ts || !tq) continue;
    const std::vector<float> imp = im.mean_squares(name);
    const int64_t n = ts->ne[0], rows = ts->n_elements() / n;
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    const TypeTraits &fs = type_traits(ts->type), &fq = type_traits(tq->type);
    for (int64_t r = 0; r < rows; ++r) {
      fs.to_float(src.tensor_data(*ts) + r * row_bytes(fs, n), a.data(), n);
      fq.to_float(q.tensor_data(*tq) + r * row_bytes(fq, n), b.data(), n);
      for (int64_t j = 0; j < n; ++j) total += imp[j] * std::pow(a[j] - b[j], 2);
    }
  }
  return total;
}

TEST(ImatrixQuality, LowersQ4KMAndQ2KKldOnTheTrainedModel) {
  const std::string model = shared_path("data/models/kestrel-test-4m-F16.gguf");
  const std::string calib = shared_path("data/text/tinyshakespeare.txt");
  const std::string eval = shared_path("data/models/eval-news-from-nowhere.txt");
  if (test::missing(model) || test::missing(calib) || test::missing(eval)) GTEST_SKIP() << "shared data not found";
  const auto t0 = std::chrono::steady_clock::now();
  test::TempDir dir;
  // Calibrate on Shakespeare, evaluate on the held-out Morris text.
  ImatrixOptions io;
  io.n_ctx = 256;
  io.n_chunks = 24;
  io.n_threads = test::kEvalThreads;
  compute_imatrix_file(model, calib, dir.file("im.gguf"), io);
  const ImportanceMatrix im = ImportanceMatrix::read(dir.file("im.gguf"));
  EXPECT_EQ(im.entries.size(), 28u);  // 4 layers x 7 matrices

  const auto f16 = Model::load(model);
  const auto tokens = test::tokenize_file(*f16, eval);
  PerplexityOptions po;
  po.n_ctx = 256;
  po.n_chunks = 16;
  po.n_threads = test::kEvalThreads;
  po.save_base = dir.file("base.kld");
  evaluate_perplexity(*f16, tokens, po);
  const auto src = gguf::Reader::open(model);
  std::printf("  kestrel-test-4m, imatrix: tinyshakespeare 24x256; KLD: eval text, -c 256, 16 chunks\n");
  for (const std::string type : {"Q4_K_M", "Q2_K"}) {
    QuantizeOptions q;
    q.file_type = &parse_quantize_type(type);
    q.n_threads = 2;
    test::quantize_quiet(model, dir.file(type + ".gguf"), q);
    q.imatrix = &im;
    q.imatrix_path = dir.file("im.gguf");
    const QuantizeStats st = test::quantize_quiet(model, dir.file(type + "-im.gguf"), q);
    EXPECT_EQ(st.n_with_imatrix, 28) << type;
    const KldReport plain = test::kld_of(dir.file(type + ".gguf"), tokens, po, po.save_base);
    const KldReport with = test::kld_of(dir.file(type + "-im.gguf"), tokens, po, po.save_base);
    const auto qa = gguf::Reader::open(dir.file(type + ".gguf")), qb = gguf::Reader::open(dir.file(type + "-im.gguf"));
    const double ea = weighted_error(*src, *qa, im), eb = weighted_error(*src, *qb, im);
    std::printf("    %-6s KLD %.6f -> %.6f with imatrix (%+.1f%%); top-1 %.2f%% -> %.2f%%; weighted error %+.1f%%\n",
                type.c_str(), plain.mean, with.mean, 100.0 * (with.mean / plain.mean - 1.0), 100.0 * plain.top1_agree,
                100.0 * with.top1_agree, 100.0 * (eb / ea - 1.0));
    EXPECT_LT(with.mean, plain.mean) << type;
    EXPECT_LT(eb, ea) << type;
    EXPECT_EQ(qb->get_string("quantize.imatrix.file"), dir.file("im.gguf"));
    EXPECT_EQ(qb->get_int("quantize.imatrix.entries_count"), 28);
    EXPECT_EQ(qb->get_int("quantize.imatrix.chunks_count"), 24);
  }
  std::printf("  (%.1f s)\n", test::seconds_since(t0));
}

}  // namespace
}  // namespace kestrel
