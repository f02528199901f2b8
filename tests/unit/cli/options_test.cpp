// The option tables (tools/options.h) and value parsers (tools/args.h):
// repeated and conflicting options, required ones, values checked where
// they are parsed, and each subcommand's own checks through its
// validate_X_args.
#include <gtest/gtest.h>

#include <functional>

#include "args.h"
#include "commands.h"
#include "core/error.h"
#include "options.h"
#include "test_support.h"

namespace kestrel::cli {
namespace {

using test::error_of;

struct Sample {
  std::string model;
  int64_t n = 7;
  bool json = false;
  std::vector<std::string> tags;
  std::vector<std::string> positional;
};

CommandLine sample_line(Sample& s) {
  CommandLine cl;
  cl.name = "sample";
  cl.usage = "sample -m M [options]";
  cl.description = "A command for the tests.";
  cl.options = {
      required(string_option({"-m", "--model"}, "FILE", "model", s.model)),
      int_option({"-n", "--count"}, "N", "how many", s.n, -1, 100),
      switch_option({"--json"}, "JSON out", s.json),
      repeatable(value_option({"--tag"}, "T", "a tag", "",
                              [&s](const std::string&, const std::string& v) { s.tags.push_back(v); })),
      value_option({"-a"}, "X", "conflicts with -b", "", [](const std::string&, const std::string&) {}),
      value_option({"-b"}, "X", "conflicts with -a", "", [](const std::string&, const std::string&) {}),
  };
  cl.exclusive = {{"-a", "-b"}};
  cl.positional = [&s](const std::string& a) { s.positional.push_back(a); };
  return cl;
}

std::string parse_error(std::vector<std::string> args) {
  Sample s;
  Args a(std::move(args));
  return error_of([&] { parse_command_line(a, sample_line(s)); });
}

TEST(Options, ParsesEveryKindOfOption) {
  Sample s;
  Args a({"--model", "m.gguf", "-n", "5", "--json", "--tag", "x", "--tag", "y", "pos1", "-"});
  ASSERT_TRUE(parse_command_line(a, sample_line(s)));
  EXPECT_EQ(s.model, "m.gguf");
  EXPECT_EQ(s.n, 5);
  EXPECT_TRUE(s.json);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.positional, (std::vector<std::string>{"pos1", "-"}));
}

TEST(Options, HelpStopsParsing) {
  Sample s;
  Args a({"--help", "--bogus"});
  EXPECT_FALSE(parse_command_line(a, sample_line(s)));
}

TEST(Options, Errors) {
  EXPECT_EQ(parse_error({"-n", "3"}), "kestrel sample: -m FILE is required");
  EXPECT_EQ(parse_error({"-m", "a", "--bogus"}), "kestrel sample: unknown argument '--bogus' (see kestrel sample --help)");
  EXPECT_EQ(parse_error({"-m", "a", "-m", "b"}), "kestrel sample: -m given twice ('a' and 'b'); give it once");
  EXPECT_EQ(parse_error({"-m", "a", "--model", "b"}), "kestrel sample: -m given twice ('a' and 'b'); give it once");
  EXPECT_EQ(parse_error({"-m", "a", "-a", "1", "-b", "2"}), "kestrel sample: options -a and -b cannot be used together");
  EXPECT_EQ(parse_error({"-m", "-n", "3"}), "option -m needs a value (got the option -n)");
  EXPECT_EQ(parse_error({"-m", "a", "-n"}), "option -n needs a value");
  EXPECT_EQ(parse_error({"-m", "a", "-n", "101"}), "option -n: 101 is out of range [-1, 100]");
  EXPECT_EQ(parse_error({"-m", "a", "--count", "x"}), "option --count: expected an integer, got 'x'");
}

TEST(Options, RepeatsOfTheSameValueOrASwitchAreWarningsOnly) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse_error({"-m", "a", "-m", "a", "--json", "--json"}), "");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: -m given more than once"), std::string::npos) << err;
  EXPECT_NE(err.find("warning: --json given more than once"), std::string::npos) << err;
}

TEST(Options, HelpListsEveryOptionWithItsDefault) {
  Sample s;
  const std::string h = help_text(sample_line(s));
  EXPECT_EQ(h.rfind("usage: kestrel sample -m M [options]\n", 0), 0u) << h;
  EXPECT_NE(h.find("-h, --help"), std::string::npos);
  EXPECT_NE(h.find("-m, --model FILE"), std::string::npos);
  EXPECT_NE(h.find("model (required)"), std::string::npos);
  EXPECT_NE(h.find("how many (default: 7)"), std::string::npos);
  EXPECT_NE(h.find("JSON out (default: off)"), std::string::npos);
  EXPECT_NE(h.find("a tag (default: none) (repeatable)"), std::string::npos);
  for (const std::string& line : {std::string("-a X"), std::string("-b X")}) EXPECT_NE(h.find(line), std::string::npos);
}

TEST(Args, IntegersAndNumbersParseCompletely) {
  EXPECT_EQ(parse_int("-n", "42", 0, 100), 42);
  EXPECT_EQ(parse_int("-n", "-1", -1, 100), -1);
  EXPECT_EQ(error_of([] { parse_int("-n", "", 0, 1); }), "option -n: expected an integer, got ''");
  EXPECT_EQ(error_of([] { parse_int("-n", "4x", 0, 9); }), "option -n: expected an integer, got '4x'");
  EXPECT_EQ(error_of([] { parse_int("-n", "99999999999999999999", 0, 9); }),
            "option -n: 99999999999999999999 is out of range [0, 9]");
  EXPECT_EQ(error_of([] { parse_int("-n", "-99999999999999999999", 0, 9); }),
            "option -n: -99999999999999999999 is out of range [0, 9]");
  EXPECT_DOUBLE_EQ(parse_float("--x", "0.5", 0, 1), 0.5);
  EXPECT_EQ(error_of([] { parse_float("--x", "nan", 0, 1); }), "option --x: expected a number, got 'nan'");
  EXPECT_EQ(error_of([] { parse_float("--x", "inf", 0, 1e300); }), "option --x: inf is out of range [0, 1e+300]");
  EXPECT_EQ(error_of([] { parse_float("--x", "2", 0, 1); }), "option --x: 2 is out of range [0, 1]");
}

TEST(Args, IntegerLists) {
  EXPECT_EQ(parse_int_list("-t", "1,2,4"), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(parse_int_list("-t", "8", 1, 1024), (std::vector<int64_t>{8}));
  EXPECT_EQ(error_of([] { parse_int_list("-t", "1,,2"); }), "option -t: bad list item '' in '1,,2'");
  EXPECT_EQ(error_of([] { parse_int_list("-t", "1,2,"); }), "option -t: bad list item '' in '1,2,'");
  EXPECT_EQ(error_of([] { parse_int_list("-t", ""); }), "option -t: bad list item '' in ''");
  EXPECT_EQ(error_of([] { parse_int_list("-t", "1,0", 1, 1024); }), "option -t: 0 is out of range [1, 1024]");
  EXPECT_EQ(error_of([] { parse_int_list("-p", "1,a"); }), "option -p: expected an integer, got 'a'");
}

// Each subcommand's parsing, as a person meets it.
std::string validate(void (*fn)(Args&), std::vector<std::string> args) {
  Args a(std::move(args));
  return error_of([&] { fn(a); });
}

TEST(CommandArgs, RunChecksItsOptionsWhereTheyAreParsed) {
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "hi"}), "");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "hi", "--repeat-penalty", "0"}),
            "--repeat-penalty: expected a finite number > 0, got '0'");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "hi", "--temp", "nan"}),
            "--temp: expected a finite number, got 'nan'");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf"}), "kestrel run: give a prompt with -p or -f");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "a", "-f", "b"}),
            "kestrel run: options -p and -f cannot be used together");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "a", "--samplers", "top_k", "--sampling-seq", "k"}),
            "kestrel run: options --samplers and --sampling-seq cannot be used together");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "a", "--temp", "0.5", "--temperature", "0.7"}),
            "kestrel run: --temp given twice ('0.5' and '0.7'); give it once");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "a", "-l", "1+1", "--logit-bias", "2-inf"}), "");
  EXPECT_EQ(validate(validate_run_args, {"-m", "m.gguf", "-p", "a", "-n", "-2"}),
            "option -n: -2 is out of range [-1, 2147483647]");
  EXPECT_EQ(validate(validate_run_args, {"-p", "a"}), "kestrel run: -m FILE is required");
}

TEST(CommandArgs, BenchWithNothingToRunSaysSo) {
  EXPECT_EQ(validate(validate_bench_args, {"-m", "m.gguf", "-p", "0", "-n", "0"}),
            "kestrel bench: nothing to run: every -p and -n size is 0");
  EXPECT_EQ(validate(validate_bench_args, {"-m", "m.gguf", "-p", "0"}), "");  // tg128 still runs
  EXPECT_EQ(validate(validate_bench_args, {"-m", "a.gguf", "-m", "b.gguf"}), "");  // -m repeats
  EXPECT_EQ(validate(validate_bench_args, {"-m", "m.gguf", "-t", "0"}), "option -t: 0 is out of range [1, 1024]");
  EXPECT_EQ(validate(validate_bench_args, {"-m", "m.gguf", "-r", "0"}), "option -r: 0 is out of range [1, 1000]");
}

TEST(CommandArgs, QuantizePositionalsAndThreads) {
  EXPECT_EQ(validate(validate_quantize_args, {"in.gguf", "out.gguf", "Q4_K_M"}), "");
  EXPECT_EQ(validate(validate_quantize_args, {"in.gguf", "out.gguf", "Q4_K_M", "4", "-t", "4"}), "");
  EXPECT_EQ(validate(validate_quantize_args, {"in.gguf", "out.gguf", "Q4_K_M", "4", "-t", "2"}),
            "kestrel quantize: -t 2 and N_THREADS 4 disagree; give one");
  EXPECT_EQ(validate(validate_quantize_args, {"in.gguf", "out.gguf", "Q4_K_M", "0"}),
            "option N_THREADS: 0 is out of range [1, 1024]");
  EXPECT_EQ(validate(validate_quantize_args, {"in.gguf", "out.gguf"}),
            "kestrel quantize: expected IN.gguf OUT.gguf TYPE [N_THREADS] (see --help)");
  EXPECT_EQ(validate(validate_quantize_args, {"--tensor-type", "a=q8_0", "--tensor-type", "b=q4_0", "i", "o", "Q8_0"}),
            "");
}

TEST(CommandArgs, OtherCommands) {
  EXPECT_EQ(validate(validate_perplexity_args, {"-m", "m", "-f", "t", "--kl-divergence"}),
            "--kl-divergence needs --kl-divergence-base FILE");
  EXPECT_EQ(validate(validate_perplexity_args, {"-m", "m", "-f", "t", "-c", "3"}),
            "option -c: 3 is out of range [4, 1048576]");
  EXPECT_EQ(validate(validate_synth_args, {"--shape", "gpt-9", "-o", "x"}).rfind("unknown shape 'gpt-9'", 0), 0u);
  EXPECT_EQ(validate(validate_synth_args, {"--shape", "tiny"}), "kestrel synth: -o OUT.gguf is required");
  EXPECT_EQ(validate(validate_inspect_args, {"a.gguf", "b.gguf"}),
            "kestrel inspect: give one GGUF file (got 'a.gguf' and 'b.gguf')");
  EXPECT_EQ(validate(validate_inspect_args, {}), "kestrel inspect: no GGUF file given");
  EXPECT_EQ(validate(validate_tokenize_args, {"-m", "v.gguf"}), "kestrel tokenize: give a prompt with -p or -f");
  EXPECT_EQ(validate(validate_logits_args, {"-m", "m"}), "kestrel logits: -f PROMPTS.txt is required");
  EXPECT_EQ(validate(validate_imatrix_args, {"-m", "m", "-f", "t", "-o", "a", "-o", "b"}),
            "kestrel imatrix: -o given twice ('a' and 'b'); give it once");
}

}  // namespace
}  // namespace kestrel::cli
