// Issue #20 through the real binary: nothing read is overwritten, inputs
// that are not files are named, the context end is said, --context-shift,
// --version, --help for every command, progress without "\r" in a log,
// escaped tokens.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "gguf/gguf_writer.h"
#include "process.h"
#include "test_paths.h"

namespace kestrel::test {
namespace {

namespace fs = std::filesystem;

struct Result {
  int status;
  std::string out, err;
};

class Hardening : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("kestrel_hardening_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_ + "/adir");
    model_ = dir_ + "/m.gguf";
    ASSERT_EQ(kestrel({"synth", "--shape", "tiny", "--type", "F16", "-o", model_}).status, 0);
    std::ofstream(dir_ + "/text.txt") << "the quick brown fox jumps over the lazy dog\n";
    std::ofstream text(dir_ + "/long.txt");
    for (int i = 0; i < 60; ++i) text << "the quick brown fox jumps over the lazy dog " << i << "\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static Result kestrel(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {kestrel_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    Child c(argv, dir_ + "/.stdout", dir_ + "/.stderr", env);
    const int st = c.wait();
    return {st, c.out(), c.err()};
  }
  static std::string p(const std::string& name) { return dir_ + "/" + name; }
  static std::string bytes(const std::string& path) { return Child::read(path); }

  static std::string dir_, model_;
};
std::string Hardening::dir_, Hardening::model_;

TEST_F(Hardening, QuantizeNeverOverwritesItsInput) {
  fs::create_symlink(model_, p("sym.gguf"));
  fs::create_hard_link(model_, p("hard.gguf"));
  const std::string before = bytes(model_);
  for (const std::string& out : {model_, p("sym.gguf"), p("hard.gguf")}) {
    for (const std::string force : {"", "--force"}) {
      std::vector<std::string> args = {"quantize", model_, out, "Q4_0"};
      if (!force.empty()) args.push_back(force);
      const Result r = kestrel(args);
      EXPECT_EQ(r.status, 1) << r.err;
      EXPECT_NE(r.err.find("error: refusing to write '" + out + "': it is the input '" + model_ + "'"),
                std::string::npos)
          << r.err;
    }
  }
  EXPECT_EQ(bytes(model_), before);
  // The imatrix is an input too.
  const Result im = kestrel({"quantize", "--imatrix", p("text.txt"), model_, p("text.txt"), "Q4_0"});
  EXPECT_EQ(im.status, 1);
  EXPECT_NE(im.err.find("it is the input '" + p("text.txt") + "'"), std::string::npos) << im.err;
  fs::remove(p("sym.gguf"));
  fs::remove(p("hard.gguf"));
}

TEST_F(Hardening, OutputsReplaceOnlyTheirOwnKindUnlessForced) {
  std::ofstream(p("notes.txt")) << "my notes\n";
  const Result q = kestrel({"quantize", model_, p("notes.txt"), "Q8_0"});
  EXPECT_EQ(q.status, 1);
  EXPECT_NE(q.err.find("refusing to replace '" + p("notes.txt") +
                       "': it is a text file, not a GGUF model (pass --force to replace it anyway)"),
            std::string::npos)
      << q.err;
  EXPECT_EQ(bytes(p("notes.txt")), "my notes\n");
  EXPECT_EQ(kestrel({"quantize", "-y", model_, p("notes.txt"), "Q8_0"}).status, 0);
  EXPECT_EQ(bytes(p("notes.txt")).rfind("GGUF", 0), 0u);
  // A GGUF model may replace a GGUF model.
  EXPECT_EQ(kestrel({"quantize", model_, p("notes.txt"), "Q4_0"}).status, 0);

  // The KLD base file: never over the model or the text, nor over another kind.
  const std::string text_before = bytes(p("long.txt"));
  for (const std::string& target : {model_, p("long.txt")}) {
    const Result r = kestrel({"perplexity", "-m", model_, "-f", p("long.txt"), "-c", "64", "--kl-divergence-base", target});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("refusing to write '" + target + "': it is the input"), std::string::npos) << r.err;
  }
  EXPECT_EQ(bytes(p("long.txt")), text_before);
  const Result k = kestrel({"perplexity", "-m", model_, "-f", p("long.txt"), "-c", "64", "--kl-divergence-base",
                            p("notes.txt")});
  EXPECT_EQ(k.status, 1);
  EXPECT_NE(k.err.find("it is a GGUF model, not a kestrel KLD base file"), std::string::npos) << k.err;
  // Its own kind is replaced without --force, and then read back.
  ASSERT_EQ(kestrel({"perplexity", "-m", model_, "-f", p("long.txt"), "-c", "64", "--kl-divergence-base", p("b.kld")}).status, 0);
  ASSERT_EQ(kestrel({"perplexity", "-m", model_, "-f", p("long.txt"), "-c", "64", "--kl-divergence-base", p("b.kld")}).status, 0);
  const Result cmp = kestrel({"perplexity", "-m", model_, "-f", p("long.txt"), "-c", "64", "--kl-divergence-base",
                              p("b.kld"), "--kl-divergence"});
  EXPECT_EQ(cmp.status, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("| mean KLD | 0.000000"), std::string::npos) << cmp.out;
  // imatrix output over a model, synth over the text.
  const Result i = kestrel({"imatrix", "-m", model_, "-f", p("long.txt"), "-c", "64", "-o", p("notes.txt")});
  EXPECT_NE(i.err.find("it is a GGUF model, not a GGUF imatrix"), std::string::npos) << i.err;
  const Result s = kestrel({"synth", "--shape", "tiny", "-o", p("long.txt")});
  EXPECT_NE(s.err.find("it is a text file, not a GGUF model"), std::string::npos) << s.err;
  EXPECT_EQ(bytes(p("long.txt")), text_before);
  fs::remove(p("notes.txt"));
  fs::remove(p("b.kld"));
}

TEST_F(Hardening, InputsThatAreNotFilesAreNamed) {
  const std::string d = p("adir");
  const std::vector<std::vector<std::string>> cases = {
      {"run", "-m", model_, "-f", d},
      {"tokenize", "-m", model_, "-f", d},
      {"logits", "-m", model_, "-f", d},
      {"perplexity", "-m", model_, "-f", d},
      {"imatrix", "-m", model_, "-f", d, "-o", p("i.gguf")},
  };
  for (const auto& args : cases) {
    const Result r = kestrel(args);
    EXPECT_EQ(r.status, 1) << args[0];
    EXPECT_NE(r.err.find("error: '" + d + "' is a directory, not a file"), std::string::npos) << args[0] << r.err;
  }
  const Result m = kestrel({"run", "-m", d, "-p", "hi"});
  EXPECT_NE(m.err.find("'" + d + "' is a directory, not a file"), std::string::npos) << m.err;
  const Result z = kestrel({"tokenize", "-m", model_, "-f", "/dev/zero"});
  EXPECT_NE(z.err.find("'/dev/zero' is a character device, not a file"), std::string::npos) << z.err;
  const Result b = kestrel({"bench", "-m", d});
  EXPECT_NE(b.err.find("'" + d + "' is a directory, not a file"), std::string::npos) << b.err;
}

TEST_F(Hardening, ContextEndIsSaidAndContextShiftGoesOn) {
  const Result full = kestrel({"run", "-m", model_, "-p", "hello", "-c", "32", "-n", "100", "--ignore-eos"});
  EXPECT_EQ(full.status, 0);
  const std::regex re("stopped: the context is full \\(32 tokens: (\\d+) of prompt, (\\d+) generated\\); raise -c "
                      "or use --context-shift");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(full.err, m, re)) << full.err;
  EXPECT_EQ(std::stoi(m[1]) + std::stoi(m[2]), 32);
  EXPECT_NE(full.err.find("generation: " + m[2].str() + " tokens"), std::string::npos) << full.err;
  // Exactly the room left: -n is what stopped it, nothing to say.
  const Result exact = kestrel({"run", "-m", model_, "-p", "hello", "-c", "32", "-n", m[2].str(), "--ignore-eos"});
  EXPECT_EQ(exact.err.find("context is full"), std::string::npos) << exact.err;

  const Result shift = kestrel({"run", "-m", model_, "-p", "hello", "-c", "32", "-n", "100", "--ignore-eos",
                                "--context-shift", "--keep", "2", "--temp", "0"});
  EXPECT_EQ(shift.status, 0) << shift.err;
  EXPECT_NE(shift.err.find("generation: 100 tokens"), std::string::npos) << shift.err;
  EXPECT_NE(shift.err.find("kestrel run: context shifted "), std::string::npos) << shift.err;
  EXPECT_NE(shift.err.find("(kept 3 tokens"), std::string::npos) << "BOS + --keep 2: " << shift.err;
  EXPECT_EQ(shift.err.find("context is full"), std::string::npos);
  const Result keep = kestrel({"run", "-m", model_, "-p", "hello", "-c", "6", "--context-shift", "--keep", "-1"});
  EXPECT_EQ(keep.status, 1);
  EXPECT_NE(keep.err.find("leaves no room to shift a context of 6 tokens"), std::string::npos) << keep.err;
}

TEST_F(Hardening, VersionNamesCommitBuildAndIsa) {
  const Result v = kestrel({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_TRUE(std::regex_search(v.out, std::regex("^kestrel commit [0-9a-f]{12}(-dirty)? \\(\\w+ build\\)\nISA: ")))
      << v.out;
  const Result s = kestrel({"--version"}, {"KESTREL_FORCE_SCALAR=1"});
  EXPECT_NE(s.out.find("ISA: scalar ("), std::string::npos) << s.out;
  const Result a = kestrel({"--version"}, {"KESTREL_ISA=scalar"});
  EXPECT_NE(a.out.find("ISA: scalar ("), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("matrix kernels: scalar"), std::string::npos) << a.out;
  const Result bad = kestrel({"--version"}, {"KESTREL_ISA=sse9"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("KESTREL_ISA=sse9: unknown instruction set"), std::string::npos) << bad.err;
}

// Every command's --help goes to stdout, lists every option with its
// default, and every option it lists is one the command accepts.
TEST_F(Hardening, HelpForEveryCommandListsEveryOption) {
  const Result top = kestrel({"--help"});
  EXPECT_EQ(top.status, 0);
  std::vector<std::string> commands;
  const std::regex cmd_re("\n  ([a-z-]+) +[a-z]");
  for (std::sregex_iterator it(top.out.begin(), top.out.end(), cmd_re), end; it != end; ++it) commands.push_back((*it)[1]);
  ASSERT_GE(commands.size(), 9u) << top.out;
  for (const std::string& cmd : commands) {
    const Result h = kestrel({cmd, "--help"});
    EXPECT_EQ(h.status, 0) << cmd;
    EXPECT_EQ(h.err, "") << cmd;
    EXPECT_EQ(h.out.rfind("usage: kestrel " + cmd, 0), 0u) << h.out;
    // Option lines: "  -x, --long METAVAR   help ... (default: ...)" (wrapped lines indented further).
    const std::regex opt_re("\n  (-[-a-z]+(, -[-a-z]+)*)( [^ ]+)? +([^\n]*(\n {36}[^\n]*)*)");
    int n = 0;
    for (std::sregex_iterator it(h.out.begin(), h.out.end(), opt_re), end; it != end; ++it) {
      const std::string names = (*it)[1], text = (*it)[4];
      if (names == "-h, --help") continue;
      ++n;
      EXPECT_TRUE(text.find("(default:") != std::string::npos || text.find("(required)") != std::string::npos)
          << cmd << " " << names << ": " << text;
      const std::string flag = names.substr(0, names.find(','));
      const bool takes_value = (*it)[3].matched;
      // The value is a path in the test's folder (a bad number where a number
      // is due), removed after each run: an output flag must not leave a file
      // that a later input flag then loads (`synth -o` before `serve -m`).
      const std::string value = p("1");
      const Result r = takes_value ? kestrel({cmd, flag, value}) : kestrel({cmd, flag});
      fs::remove_all(value);
      EXPECT_EQ(r.err.find("unknown argument"), std::string::npos) << cmd << " " << flag << ": " << r.err;
    }
    EXPECT_GT(n, 0) << cmd;
  }
}

TEST_F(Hardening, ProgressInALogHasNoCarriageReturns) {
  const Result q = kestrel({"quantize", model_, p("q.gguf"), "Q8_0"});
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_EQ(q.err.find('\r'), std::string::npos);
  EXPECT_NE(q.err.find("100% "), std::string::npos) << q.err;
  const Result s = kestrel({"synth", "--shape", "tiny", "-o", p("q.gguf")});
  EXPECT_EQ(s.err.find('\r'), std::string::npos);
  EXPECT_NE(s.err.find("100% blk.1.ffn_down.weight"), std::string::npos) << s.err;
  fs::remove(p("q.gguf"));
}

TEST_F(Hardening, TokenizeAndInspectEscapeControlCharacters) {
  const Result t = kestrel({"tokenize", "-m", model_, "-p", "a\nb\tc\x1b[2J"});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out.find('\x1b'), std::string::npos) << "no raw ESC reaches the terminal";
  EXPECT_EQ(t.out.find('\t'), std::string::npos);
  EXPECT_NE(t.out.find("-> '\\n'"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("-> '\\x1b'"), std::string::npos) << t.out;
  // Every line is one token: a newline piece does not break the layout.
  EXPECT_TRUE(std::regex_search(t.out, std::regex("^( *\\d+ -> '[^\n]*'\n)+$"))) << t.out;

  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  w.set_string("evil.title", "\x1b]0;pwned\x07 line\nbreak");
  w.write_file(p("evil.gguf"));
  const Result i = kestrel({"inspect", p("evil.gguf")});
  EXPECT_EQ(i.status, 0);
  EXPECT_EQ(i.out.find('\x1b'), std::string::npos);
  EXPECT_NE(i.out.find("\"\\x1b]0;pwned\\x07 line\\nbreak\""), std::string::npos) << i.out;
  fs::remove(p("evil.gguf"));
}

TEST_F(Hardening, MessagesForBadOptions) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"run", "-m", model_, "-p", "hi", "--repeat-penalty", "0"}, "error: --repeat-penalty: expected a finite number > 0, got '0'"},
      {{"run", "-m", model_, "-p", "hi", "-c", "99999999999"}, "error: option -c: 99999999999 is out of range [0, 16777216]"},
      {{"bench", "-m", model_, "-p", "0", "-n", "0"}, "error: kestrel bench: nothing to run: every -p and -n size is 0"},
      {{"run", "-m", model_, "-m", p("x.gguf"), "-p", "hi"}, "error: kestrel run: -m given twice"},
      {{"tokenize", "-m", model_, "-p", "a", "-f", p("text.txt")}, "error: kestrel tokenize: options -p and -f cannot be used together"},
      {{"run", "-m", "-p", "hi"}, "error: option -m needs a value (got the option -p)"},
      {{"run", "-m", model_, "--ctx-size=5"}, "options take their value as the next word: --ctx-size 5"},
      {{"perplexity", "-m", model_, "-f", p("text.txt"), "--chunks", "0"},
       "error: --chunks 0 would score nothing: give N >= 1, or -1 for all"},
  };
  for (const Case& c : cases) {
    const Result r = kestrel(c.args);
    EXPECT_EQ(r.status, 1) << c.expect;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  std::ofstream(p("blank.txt")) << "\n\n";
  const Result blank = kestrel({"logits", "-m", model_, "-f", p("blank.txt")});
  EXPECT_EQ(blank.status, 1);
  EXPECT_NE(blank.err.find("holds no prompt (no non-empty line)"), std::string::npos) << blank.err;
  // A context too small to shift is fine when nothing shifts: it fills and says so.
  const Result tiny = kestrel({"run", "-m", model_, "-p", "", "-c", "1", "-n", "2"});
  EXPECT_EQ(tiny.status, 0) << tiny.err;
  EXPECT_NE(tiny.err.find("stopped: the context is full"), std::string::npos) << tiny.err;
  const Result warn = kestrel({"run", "-m", model_, "-p", "hi", "-n", "1", "--no-echo", "--no-echo"});
  EXPECT_EQ(warn.status, 0);
  EXPECT_NE(warn.err.find("warning: --no-echo given more than once"), std::string::npos) << warn.err;
}

}  // namespace
}  // namespace kestrel::test
