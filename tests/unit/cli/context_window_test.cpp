// tools/context_window.h: a context shift keeps the first n_keep tokens and
// the newer half of the rest, and leaves the context exactly as a fresh one
// that decoded the shortened sequence (kestrel recomputes, it does not
// shift the cache in place).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <numeric>

#include "context_window.h"
#include "core/error.h"
#include "models/synth.h"

namespace kestrel::cli {
namespace {

const Model& tiny() {
  static const std::unique_ptr<Model> m = [] {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("kestrel_window_" + std::to_string(::getpid()) + ".gguf"))
                                 .string();
    SynthOptions opt;
    opt.shape = find_synth_shape("tiny");
    opt.file_type = find_file_type("Q8_0");
    opt.n_threads = 1;
    write_synthetic_model(opt, path);
    auto model = Model::load(path, 1);
    std::filesystem::remove(path);  // the mapping stays valid
    return model;
  }();
  return *m;
}

ContextParams params(int64_t n_ctx) {
  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_threads = 1;
  return cp;
}

TEST(ContextWindow, ShiftDropsTheOlderHalfAfterTheKeptTokens) {
  Context ctx(tiny(), params(32));
  ContextWindow win(ctx, 3);
  std::vector<TokenId> toks(31);
  std::iota(toks.begin(), toks.end(), 100);
  win.decode(toks);
  ASSERT_EQ(ctx.n_past(), 31);
  EXPECT_EQ(win.shift(), 14);  // (31 - 3) / 2
  EXPECT_EQ(ctx.n_past(), 17);
  std::vector<TokenId> want = {100, 101, 102};
  for (TokenId t = 117; t <= 130; ++t) want.push_back(t);
  EXPECT_EQ(std::vector<TokenId>(win.tokens().begin(), win.tokens().end()), want);
  EXPECT_EQ(win.n_shifts(), 1);
  EXPECT_EQ(win.n_recomputed(), 14);
}

TEST(ContextWindow, AfterAShiftTheLogitsAreThoseOfAFreshContext) {
  const int64_t n_vocab = tiny().config().n_vocab;
  Context ctx(tiny(), params(24));
  ContextWindow win(ctx, 1);
  std::vector<TokenId> toks;
  for (int i = 0; i < 23; ++i) toks.push_back(static_cast<TokenId>((i * 37 + 5) % n_vocab));
  win.decode(toks);
  win.shift();
  const TokenId next = 42;
  win.decode({&next, 1});
  const std::vector<float> shifted(ctx.logits(0), ctx.logits(0) + n_vocab);

  Context fresh(tiny(), params(24));
  std::vector<TokenId> seq(win.tokens().begin(), win.tokens().end());
  fresh.decode(seq, false);
  for (int64_t i = 0; i < n_vocab; ++i) ASSERT_EQ(shifted[static_cast<size_t>(i)], fresh.logits(0)[i]) << i;
}

TEST(ContextWindow, LongInputsAreDecodedInSlicesWithTheSameResult) {
  const int64_t n_vocab = tiny().config().n_vocab;
  std::vector<TokenId> toks;
  for (int i = 0; i < 1100; ++i) toks.push_back(static_cast<TokenId>((i * 13 + 1) % n_vocab));
  Context a(tiny(), params(1200));
  ContextWindow win(a, 0);
  win.decode(toks);  // three slices of at most 512
  Context b(tiny(), params(1200));
  b.decode(toks, false);
  for (int64_t i = 0; i < n_vocab; ++i) ASSERT_EQ(a.logits(0)[i], b.logits(0)[i]) << i;
}

TEST(ContextWindow, KeepMustLeaveRoomToShift) {
  Context ctx(tiny(), params(16));
  EXPECT_THROW(ContextWindow(ctx, 14), Error);
  EXPECT_NO_THROW(ContextWindow(ctx, 13));
}

TEST(ContextWindow, WithoutShiftingAnyContextSizeIsAccepted) {
  Context ctx(tiny(), params(2));  // far too small to shift, fine when nothing shifts
  ContextWindow win(ctx, 0, false);
  const std::vector<TokenId> two = {1, 2};
  win.decode(two);
  EXPECT_EQ(win.shift(), 0);
  EXPECT_EQ(win.tokens().size(), 2u);
}

TEST(ContextWindow, ResolveKeep) {
  EXPECT_EQ(resolve_keep(0, 5, true, 64), 1);    // BOS is always kept
  EXPECT_EQ(resolve_keep(2, 5, true, 64), 3);
  EXPECT_EQ(resolve_keep(2, 5, false, 64), 2);
  EXPECT_EQ(resolve_keep(-1, 5, true, 64), 5);   // the whole prompt
  EXPECT_EQ(resolve_keep(100, 5, true, 64), 5);  // capped at the prompt
  try {
    resolve_keep(-1, 62, true, 64);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--keep: keeping 62 tokens leaves no room to shift a context of 64 tokens (lower --keep or raise -c)");
  }
}

}  // namespace
}  // namespace kestrel::cli
