// SIGINT and SIGTERM at several moments of run, quantize, perplexity (and
// synth, imatrix, bench): the exit status is 130 / 143, what was printed is
// what the moment allows (run: the text so far, a newline and the speed
// line; the others: no result), no output file appears or changes, and no
// *.tmp is left. KESTREL_PAUSE_AT (core/interrupt.h) holds a command at an
// exact point so the signal lands there; timed signals cover the moments in
// between.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "process.h"
#include "test_paths.h"

namespace kestrel::test {
namespace {

namespace fs = std::filesystem;

class Interrupt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("kestrel_interrupt_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    model_ = dir_ + "/m.gguf";
    Child c({kestrel_bin(), "synth", "--shape", "tiny", "--type", "F16", "-o", model_}, dir_ + "/o", dir_ + "/e");
    ASSERT_EQ(c.wait(), 0) << c.err();
    std::ofstream text(dir_ + "/text.txt");
    for (int i = 0; i < 300; ++i) text << "the quick brown fox jumps over the lazy dog " << i << "\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::vector<std::string> tmp_files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".tmp") out.push_back(e.path().filename().string());
    }
    return out;
  }
  static std::string p(const std::string& name) { return dir_ + "/" + name; }
  static std::string exit_text(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

  static std::string dir_, model_;
};
std::string Interrupt::dir_, Interrupt::model_;

// Runs `args`, held at `phase`, signals it there; returns the child's status.
struct Outcome {
  int status;
  std::string out, err;
};
Outcome interrupt_at(const std::vector<std::string>& args, const std::string& phase, int sig, const std::string& dir) {
  std::vector<std::string> argv = {kestrel_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Child c(argv, dir + "/stdout", dir + "/stderr", {"KESTREL_PAUSE_AT=" + phase});
  const bool paused = c.wait_for("kestrel: paused at " + phase.substr(0, phase.find(':')));
  EXPECT_TRUE(paused) << "never reached " << phase << ": " << c.err();
  c.signal(sig);
  if (phase.find(":hold") != std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(c.exited()) << "a held checkpoint ignores the first signal";
    c.signal(sig);  // the second one exits at once
  }
  const int st = c.wait();
  return {st, c.out(), c.err()};
}

TEST_F(Interrupt, RunStopsAtATokenBoundaryWithTheSpeedLine) {
  for (int sig : {SIGINT, SIGTERM}) {
    Child c({kestrel_bin(), "run", "-m", model_, "-p", "hello", "-n", "-1", "--ignore-eos", "--context-shift", "-c",
             "64", "-t", "1"},
            p("out"), p("err"));
    // Forever, thanks to the context shift: wait until text streams.
    ASSERT_TRUE(c.wait_for("hello", true));
    // Past the first context shift (-c 64).
    while (c.out().size() < 400 && !c.exited()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    c.signal(sig);
    EXPECT_EQ(c.wait(), 128 + sig);
    const std::string out = c.out(), err = c.err();
    EXPECT_EQ(out.rfind("hello", 0), 0u);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), '\n') << "the line is ended";
    EXPECT_NE(err.find("prompt: "), std::string::npos) << err;
    EXPECT_NE(err.find(" | generation: "), std::string::npos) << err;
    EXPECT_NE(err.find("kestrel run: interrupted by " + exit_text(sig)), std::string::npos) << err;
    EXPECT_NE(err.find("context shifted"), std::string::npos) << err;
  }
}

TEST_F(Interrupt, RunInterruptedBeforeThePromptPrintsNothing) {
  for (int sig : {SIGINT, SIGTERM}) {
    const Outcome o = interrupt_at({"run", "-m", model_, "-p", "hello", "-n", "8"}, "prompt", sig, dir_);
    EXPECT_EQ(o.status, 128 + sig);
    EXPECT_EQ(o.out, "");
    EXPECT_NE(o.err.find("kestrel run: interrupted by " + exit_text(sig) + "; stopped, no output written"),
              std::string::npos)
        << o.err;
  }
}

TEST_F(Interrupt, RunInterruptedDuringThePromptEndsTheLine) {
  std::ofstream text(p("prompt.txt"));
  for (int i = 0; i < 25; ++i) text << "the quick brown fox jumps over the lazy dog " << i << "\n";  // > 512 tokens
  text.close();
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(exit_text(sig));
    const Outcome o =
        interrupt_at({"run", "-m", model_, "-f", p("prompt.txt"), "-c", "2048", "-n", "8"}, "prefill", sig, dir_);
    EXPECT_EQ(o.status, 128 + sig) << o.err;
    ASSERT_FALSE(o.out.empty());
    EXPECT_EQ(o.out.rfind("the quick brown fox", 0), 0u) << "the echoed prompt";
    EXPECT_EQ(o.out.back(), '\n') << "the line is ended";
    EXPECT_NE(o.err.find("prompt: "), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("generation: 0 tokens"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("kestrel run: interrupted by " + exit_text(sig)), std::string::npos) << o.err;
  }
}

TEST_F(Interrupt, ASecondSignalExitsAtOnce) {
  const Outcome o = interrupt_at({"run", "-m", model_, "-p", "hello", "-n", "8"}, "prompt:hold", SIGINT, dir_);
  EXPECT_EQ(o.status, 130);
  EXPECT_EQ(o.err.find("stopped"), std::string::npos) << "no orderly stop: " << o.err;
}

TEST_F(Interrupt, QuantizeLeavesNoOutputAndNoTemporaryFile) {
  for (const std::string phase : {"load", "convert", "write", "write:hold"}) {
    for (int sig : {SIGINT, SIGTERM}) {
      SCOPED_TRACE(phase + " " + exit_text(sig));
      const Outcome o = interrupt_at({"quantize", model_, p("q.gguf"), "Q4_0"}, phase, sig, dir_);
      EXPECT_EQ(o.status, 128 + sig) << o.err;
      EXPECT_FALSE(fs::exists(p("q.gguf")));
      EXPECT_TRUE(tmp_files().empty()) << tmp_files().front();
      if (phase.find(":hold") == std::string::npos) {
        EXPECT_NE(o.err.find("kestrel quantize: interrupted by " + exit_text(sig)), std::string::npos) << o.err;
      }
    }
  }
}

TEST_F(Interrupt, AnInterruptedQuantizeLeavesAnEarlierOutputUntouched) {
  Child ok({kestrel_bin(), "quantize", model_, p("keep.gguf"), "Q8_0"}, p("o"), p("e"));
  ASSERT_EQ(ok.wait(), 0) << ok.err();
  const std::string before = Child::read(p("keep.gguf"));
  const Outcome o = interrupt_at({"quantize", model_, p("keep.gguf"), "Q4_0"}, "write", SIGTERM, dir_);
  EXPECT_EQ(o.status, 143);
  EXPECT_EQ(Child::read(p("keep.gguf")), before);
  EXPECT_TRUE(tmp_files().empty());
  fs::remove(p("keep.gguf"));
}

TEST_F(Interrupt, PerplexitySavingABaseLeavesNothing) {
  for (const std::string phase : {"chunk", "chunk:hold"}) {
    for (int sig : {SIGINT, SIGTERM}) {
      SCOPED_TRACE(phase + " " + exit_text(sig));
      const Outcome o = interrupt_at({"perplexity", "-m", model_, "-f", p("text.txt"), "-c", "64",
                                      "--kl-divergence-base", p("base.kld")},
                                     phase, sig, dir_);
      EXPECT_EQ(o.status, 128 + sig) << o.err;
      EXPECT_EQ(o.out.find("Final estimate"), std::string::npos) << o.out;
      EXPECT_FALSE(fs::exists(p("base.kld")));
      EXPECT_TRUE(tmp_files().empty());
    }
  }
}

TEST_F(Interrupt, PerplexityScoringOrComparingStopsWithoutAnEstimate) {
  Child base({kestrel_bin(), "perplexity", "-m", model_, "-f", p("text.txt"), "-c", "64", "--chunks", "4",
              "--kl-divergence-base", p("cmp.kld")},
             p("o"), p("e"));
  ASSERT_EQ(base.wait(), 0) << base.err();
  const std::string before = Child::read(p("cmp.kld"));
  const std::vector<std::vector<std::string>> commands = {
      {"perplexity", "-m", model_, "-f", p("text.txt"), "-c", "64"},
      {"perplexity", "-m", model_, "-f", p("text.txt"), "-c", "64", "--chunks", "4", "--kl-divergence-base",
       p("cmp.kld"), "--kl-divergence"},
  };
  for (const auto& args : commands) {
    for (int sig : {SIGINT, SIGTERM}) {
      SCOPED_TRACE(args.back() + " " + exit_text(sig));
      const Outcome o = interrupt_at(args, "chunk", sig, dir_);
      EXPECT_EQ(o.status, 128 + sig) << o.err;
      EXPECT_EQ(o.out.find("Final estimate"), std::string::npos) << o.out;
      EXPECT_EQ(o.out.find("KL divergence"), std::string::npos) << o.out;
      EXPECT_NE(o.err.find("kestrel perplexity: interrupted by " + exit_text(sig)), std::string::npos) << o.err;
      EXPECT_EQ(Child::read(p("cmp.kld")), before) << "the base that was read is untouched";
      EXPECT_TRUE(tmp_files().empty());
    }
  }
  fs::remove(p("cmp.kld"));
}

// Signals at moments nobody chose: the command either finished (status 0,
// complete output) or stopped cleanly (130/143, no output); never a .tmp.
TEST_F(Interrupt, TimedSignalsNeverLeaveHalfAFile) {
  const std::vector<std::vector<std::string>> commands = {
      {"quantize", model_, p("t.gguf"), "Q4_K_M"},
      {"perplexity", "-m", model_, "-f", p("text.txt"), "-c", "64", "--kl-divergence-base", p("t.kld")},
  };
  for (const auto& args : commands) {
    for (int delay_ms : {0, 5, 20, 60, 150}) {
      for (int sig : {SIGINT, SIGTERM}) {
        SCOPED_TRACE(args[0] + " after " + std::to_string(delay_ms) + " ms, " + exit_text(sig));
        std::vector<std::string> argv = {kestrel_bin()};
        argv.insert(argv.end(), args.begin(), args.end());
        Child c(argv, p("out"), p("err"));
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        c.signal(sig);
        const int st = c.wait();
        const std::string out_file = args[0] == "quantize" ? p("t.gguf") : p("t.kld");
        if (st == 0) {
          EXPECT_TRUE(fs::exists(out_file));  // finished before the signal
        } else {
          EXPECT_EQ(st, 128 + sig) << c.err();
          EXPECT_FALSE(fs::exists(out_file));
        }
        EXPECT_TRUE(tmp_files().empty());
        fs::remove(out_file);
      }
    }
  }
}

// run at moments nobody chose: finished (0) or stopped (130/143); either way
// any text it printed ends with a newline and the speed line follows.
TEST_F(Interrupt, TimedSignalsToRunAlwaysEndTheLine) {
  for (int delay_ms : {0, 10, 40, 100, 250}) {
    for (int sig : {SIGINT, SIGTERM}) {
      SCOPED_TRACE("run after " + std::to_string(delay_ms) + " ms, " + exit_text(sig));
      Child c({kestrel_bin(), "run", "-m", model_, "-p", "hello", "-n", "200", "--ignore-eos", "-t", "1"}, p("out"),
              p("err"));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      c.signal(sig);
      const int st = c.wait();
      const std::string out = c.out(), err = c.err();
      if (st != 0) {
        EXPECT_EQ(st, 128 + sig) << err;
      }
      if (!out.empty()) {
        EXPECT_EQ(out.back(), '\n') << out;
        EXPECT_NE(err.find(" | generation: "), std::string::npos) << err;
      }
    }
  }
}

TEST_F(Interrupt, SynthAndImatrixToo) {
  for (int sig : {SIGINT, SIGTERM}) {
    for (const char* phase : {"generate", "write"}) {
      SCOPED_TRACE(std::string("synth at ") + phase + ", " + exit_text(sig));
      const Outcome o =
          interrupt_at({"synth", "--shape", "tiny", "--type", "Q8_0", "-o", p("s.gguf")}, phase, sig, dir_);
      EXPECT_EQ(o.status, 128 + sig) << o.err;
      EXPECT_FALSE(fs::exists(p("s.gguf")));
      EXPECT_TRUE(tmp_files().empty());
    }
    const Outcome o =
        interrupt_at({"imatrix", "-m", model_, "-f", p("text.txt"), "-c", "64", "-o", p("i.gguf")}, "chunk", sig, dir_);
    EXPECT_EQ(o.status, 128 + sig) << o.err;
    EXPECT_FALSE(fs::exists(p("i.gguf")));
    EXPECT_TRUE(tmp_files().empty());
  }
}

TEST_F(Interrupt, BenchStopsWithoutATable) {
  Child c({kestrel_bin(), "bench", "-m", model_, "-p", "16", "-n", "16", "-r", "1000", "-t", "1"}, p("out"), p("err"));
  ASSERT_TRUE(c.wait_for("rep 1/1000"));
  c.signal(SIGINT);
  EXPECT_EQ(c.wait(), 130);
  EXPECT_EQ(c.out(), "") << "no partial table";
  EXPECT_NE(c.err().find("kestrel bench: interrupted by SIGINT"), std::string::npos) << c.err();
}

}  // namespace
}  // namespace kestrel::test
