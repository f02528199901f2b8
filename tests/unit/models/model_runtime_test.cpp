// Loading and running synthetic models: the shapes and tensor types synth
// writes, prefill/decode consistency, and the errors a user can provoke
// (prompt longer than the context, bad token ids, unsupported architecture,
// context larger than the trained one). Self-contained: needs no ../shared.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "models/synth.h"
#include "runtime/context.h"
#include "tiny_model.h"

namespace kestrel {
namespace {

using test::make_tiny;
using test::temp_path;

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Synth, TinyModelHasTheShapeAndLlamaCppTypes) {
  const auto m = Model::load(make_tiny("Q4_0"));
  const ModelConfig& c = m->config();
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.n_embd, 256);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(m->tokenizer().n_vocab(), 512);
  // Tied embeddings: the token embedding is the output matrix, so Q6_K.
  EXPECT_EQ(m->gguf().find_tensor("token_embd.weight")->type, DType::Q6_K);
  EXPECT_EQ(m->gguf().find_tensor("blk.0.attn_q.weight")->type, DType::Q4_0);
  EXPECT_EQ(m->gguf().find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
  const auto pure = Model::load(make_tiny("Q4_0", true));
  EXPECT_EQ(pure->gguf().find_tensor("token_embd.weight")->type, DType::Q4_0);
}

TEST(Synth, EveryShapeIsKnownAndUnknownShapeIsNull) {
  for (const char* s : {"tiny", "llama-3.2-1b", "qwen2.5-0.5b", "tinyllama-1.1b", "llama-2-7b"}) {
    EXPECT_NE(find_synth_shape(s), nullptr) << s;
  }
  EXPECT_EQ(find_synth_shape("gpt-5"), nullptr);
  EXPECT_EQ(find_synth_shape("llama-3.2-1b")->n_vocab, 128256);
  EXPECT_EQ(find_synth_shape("qwen2.5-0.5b")->n_vocab, 151936);
}

TEST(Runtime, BatchedPrefillEqualsTokenByTokenDecode) {
  const auto m = Model::load(make_tiny("Q8_0"));
  const std::vector<TokenId> toks = {1, 300, 301, 302, 7, 99, 400, 12, 13, 14};
  ContextParams cp;
  cp.n_ctx = 64;
  cp.n_threads = 2;
  Context a(*m, cp);
  a.decode(toks, true);
  Context b(*m, cp);
  const int64_t nv = m->config().n_vocab;
  for (size_t i = 0; i < toks.size(); ++i) {
    b.decode({&toks[i], 1}, false);
    for (int64_t v = 0; v < nv; ++v) {
      ASSERT_NEAR(a.logits(static_cast<int64_t>(i))[v], b.logits(0)[v], 1e-3f) << "pos " << i << " token " << v;
    }
  }
  EXPECT_EQ(b.n_past(), 10);
  for (int64_t v = 0; v < nv; ++v) ASSERT_TRUE(std::isfinite(a.logits(9)[v]));
}

TEST(Synth, TypeLabelNamesTheFileTypeLikeLlamaBench) {
  // The file type, not the type with most bytes (Q4_K for a Q4_K_M mix).
  EXPECT_EQ(Model::load(make_tiny("Q2_K"))->type_label(), "Q2_K");
  EXPECT_EQ(Model::load(make_tiny("Q4_K_M"))->type_label(), "Q4_K_M");
  // A file type of the wrong kind or out of range falls back to the type
  // with the most bytes (here Q2_K) instead of failing or wrapping.
  const auto src = gguf::Reader::open(make_tiny("Q2_K"));
  for (int variant = 0; variant < 2; ++variant) {
    gguf::Writer w;
    for (const auto& kv : src->metadata()) {
      if (kv.key != "general.file_type") w.set_value(kv.key, kv.value);
    }
    if (variant == 0) w.set_string("general.file_type", "Q2_K");
    if (variant == 1) w.set_u64("general.file_type", (uint64_t{1} << 32) + 15);  // would wrap to Q4_K_M
    for (const auto& t : src->tensors()) w.add_tensor(t.name, t.ne, t.type, src->tensor_data(t), t.nbytes);
    const std::string path = temp_path("odd_file_type.gguf");
    w.write_file(path);
    EXPECT_EQ(Model::load(path)->type_label(), "Q2_K") << "variant " << variant;
    std::filesystem::remove(path);
  }
}

// Every file type's mix (each quantized type as packed tiles on AVX2
// machines) against the scalar kernels, for a prompt and a decode step.
TEST(Runtime, ScalarAndAutoKernelPathsAgree) {
  for (const char* type : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "F16", "BF16"}) {
    const auto m = Model::load(make_tiny(type));
    const std::vector<TokenId> toks = {1, 50, 60, 70, 80};
    const TokenId next = 90;
    ContextParams cp;
    cp.n_ctx = 32;
    cp.n_threads = 2;
    Context fast(*m, cp);
    cp.path = KernelPath::Scalar;
    Context slow(*m, cp);
    for (int step = 0; step < 2; ++step) {
      if (step == 0) {
        fast.decode(toks, false);
        slow.decode(toks, false);
      } else {
        fast.decode({&next, 1}, false);
        slow.decode({&next, 1}, false);
      }
      float max_abs = 1.0f;
      for (int64_t v = 0; v < m->config().n_vocab; ++v) max_abs = std::max(max_abs, std::fabs(slow.logits(0)[v]));
      for (int64_t v = 0; v < m->config().n_vocab; ++v) {
        ASSERT_NEAR(fast.logits(0)[v], slow.logits(0)[v], 1e-3f * max_abs) << type << " step " << step << " token " << v;
      }
    }
  }
}

TEST(Runtime, TruncateRollsBackToAnEarlierPosition) {
  // Prefix, other tokens, truncate back to the prefix, then a continuation:
  // the logits equal those of prefix + continuation in a fresh context
  // (bit for bit: quantized products are split-invariant). kestrel bench
  // relies on this to fill a deep cache once per depth.
  const auto m = Model::load(make_tiny("Q4_0"));
  const std::vector<TokenId> prefix = {1, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};  // 11: not a multiple of 8
  const std::vector<TokenId> other = {300, 301, 302, 303, 304, 305, 306};
  const std::vector<TokenId> cont = {40, 41, 42};
  ContextParams cp;
  cp.n_ctx = 64;
  cp.n_threads = 2;
  Context fresh(*m, cp), reused(*m, cp);
  fresh.decode(prefix, false);
  fresh.decode(cont, true);
  reused.decode(prefix, false);
  reused.decode(other, false);
  reused.truncate(static_cast<int64_t>(prefix.size()));
  EXPECT_EQ(reused.n_past(), 11);
  reused.decode(cont, true);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t v = 0; v < m->config().n_vocab; ++v) ASSERT_EQ(fresh.logits(i)[v], reused.logits(i)[v]) << i << " " << v;
  }
  EXPECT_NE(error_of([&] { reused.truncate(15); }).find("outside 0..14"), std::string::npos);
  EXPECT_NE(error_of([&] { reused.truncate(-1); }), "");
}

TEST(Runtime, PromptLongerThanContextIsAClearError) {
  const auto m = Model::load(make_tiny("Q4_0"));
  ContextParams cp;
  cp.n_ctx = 8;
  cp.n_threads = 1;
  Context ctx(*m, cp);
  const std::vector<TokenId> toks(9, 5);
  const std::string msg = error_of([&] { ctx.decode(toks, false); });
  EXPECT_NE(msg.find("context holds 8"), std::string::npos) << msg;
  EXPECT_EQ(ctx.n_past(), 0);
  // Filling exactly to the end works, one more token does not.
  ctx.decode({toks.data(), 8}, false);
  EXPECT_NE(error_of([&] { ctx.decode({toks.data(), 1}, false); }), "");
}

TEST(Runtime, BadTokenIdsAndContextSizesAreErrors) {
  const auto m = Model::load(make_tiny("Q4_0"));
  ContextParams cp;
  cp.n_ctx = 16;
  Context ctx(*m, cp);
  const std::vector<TokenId> bad = {1, 512};
  EXPECT_NE(error_of([&] { ctx.decode(bad, false); }).find("outside the vocabulary"), std::string::npos);
  const std::vector<TokenId> neg = {-1};
  EXPECT_NE(error_of([&] { ctx.decode(neg, false); }), "");
  cp.n_ctx = 1 << 20;  // beyond the trained 2048
  EXPECT_NE(error_of([&] { Context big(*m, cp); }).find("trained context"), std::string::npos);
  cp.n_ctx = 0;  // default: min(4096, trained)
  Context def(*m, cp);
  EXPECT_EQ(def.n_ctx(), 2048);
}

// perplexity and bench may run past the trained context (they warn); the
// cache must still fit in memory, and a larger cache changes no result.
TEST(Runtime, ContextPastTheTrainedLengthWhenAllowed) {
  const auto m = Model::load(make_tiny("Q4_0"));
  ContextParams cp;
  cp.n_threads = 2;
  cp.allow_beyond_trained = true;
  cp.n_ctx = int64_t{1} << 36;  // a 64 TiB cache
  EXPECT_NE(error_of([&] { Context huge(*m, cp); }).find("KV cache"), std::string::npos);

  std::vector<TokenId> toks(2100);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<TokenId>((i * 37 + 11) % 512);
  cp.n_ctx = 2048;
  Context fits(*m, cp);
  fits.decode(std::span(toks).first(2000), false);
  std::vector<float> at2000(fits.logits(), fits.logits() + 512);

  cp.n_ctx = 4096;
  Context past(*m, cp);
  ASSERT_EQ(past.n_ctx(), 4096);
  past.decode(std::span(toks).first(2000), false);
  for (int i = 0; i < 512; ++i) ASSERT_EQ(past.logits()[i], at2000[static_cast<size_t>(i)]) << i;
  past.decode(std::span(toks).subspan(2000), false);  // positions 2000..2099
  EXPECT_EQ(past.n_past(), 2100);
  for (int i = 0; i < 512; ++i) ASSERT_TRUE(std::isfinite(past.logits()[i])) << i;
}

TEST(Runtime, UnsupportedArchitectureIsNamed) {
  const auto src = gguf::Reader::open(make_tiny("Q8_0"));
  gguf::Writer w;
  for (const auto& kv : src->metadata()) {
    if (kv.key == "general.architecture") w.set_string(kv.key, "falcon");
    else w.set_value(kv.key, kv.value);
  }
  for (const auto& t : src->tensors()) w.add_tensor(t.name, t.ne, t.type, src->tensor_data(t), t.nbytes);
  const std::string path = temp_path("falcon.gguf");
  w.write_file(path);
  const std::string msg = error_of([&] { Model::load(path); });
  EXPECT_NE(msg.find("unsupported architecture 'falcon'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llama"), std::string::npos) << msg;
  std::filesystem::remove(path);
}

TEST(Runtime, MissingTensorIsNamed) {
  const auto src = gguf::Reader::open(make_tiny("Q8_0"));
  gguf::Writer w;
  for (const auto& kv : src->metadata()) w.set_value(kv.key, kv.value);
  for (const auto& t : src->tensors()) {
    if (t.name != "blk.1.ffn_up.weight") w.add_tensor(t.name, t.ne, t.type, src->tensor_data(t), t.nbytes);
  }
  const std::string path = temp_path("missing.gguf");
  w.write_file(path);
  EXPECT_NE(error_of([&] { Model::load(path); }).find("blk.1.ffn_up.weight"), std::string::npos);
  std::filesystem::remove(path);
}

// The profile of one decode step at depth 9 counts every weight byte once,
// the K/V rows of positions 0..9, and times that add up.
TEST(Runtime, PhaseProfileCountsOneDecodeStep) {
  const auto m = Model::load(make_tiny("Q8_0"));
  ContextParams cp;
  cp.n_ctx = 64;
  cp.n_threads = 2;
  Context ctx(*m, cp);
  std::vector<TokenId> toks = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ctx.decode(std::span(toks).first(9), false);
  ctx.set_profiling(true);
  ctx.decode(std::span(toks).subspan(9), false);
  const PhaseProfile& p = ctx.profile();
  const ModelConfig& c = m->config();
  double weights = 0;
  for (const LayerWeights& L : m->weights().layers) {
    for (const WeightMatrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      weights += static_cast<double>(w->row_bytes()) * static_cast<double>(w->n_out);
    }
  }
  const WeightMatrix& out = m->weights().output;
  weights += static_cast<double>(out.row_bytes()) * static_cast<double>(out.n_out);
  EXPECT_EQ(p.tokens, 1);
  EXPECT_EQ(p.matmul_bytes, weights);
  EXPECT_EQ(p.kv_bytes, static_cast<double>(c.n_layer) * 10.0 * 2.0 * 2.0 * static_cast<double>(c.kv_dim()));
  EXPECT_GT(p.matmul_s, 0.0);
  EXPECT_GT(p.attention_s, 0.0);
  EXPECT_GE(p.total_s, p.matmul_s + p.attention_s);
  ctx.set_profiling(false);  // clears the profile and stops counting
  ctx.truncate(9);
  ctx.decode(std::span(toks).subspan(9), false);
  EXPECT_EQ(ctx.profile().tokens, 0);
}

}  // namespace
}  // namespace kestrel
