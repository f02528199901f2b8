// Declared options of a kestrel subcommand: one table drives parsing,
// --help and the checks a person expects from a command line.
//
// Each Option lists its spellings, its value placeholder (none for a
// switch), a help line, the default shown in --help and the setter that
// stores the value. parse_command_line() then gives every command the same
// behaviour: an unknown flag is an error that points at --help; a value
// option given twice with different values is an error and a repeat of the
// same value (or of a switch) a warning, unless the option is repeatable;
// options of one `exclusive` group conflict; a `required` option that is
// missing is an error naming it; a value that is itself one of the
// command's flags ("-m -p") is "needs a value". Values are checked by the
// setters (args.h parse_int / parse_float), so a bad value is reported
// where it is parsed, naming the flag.
#pragma once

#include <cstdio>
#include <functional>
#include <type_traits>
#include <string>
#include <vector>

#include "args.h"

namespace kestrel::cli {

struct Option {
  std::vector<std::string> names;  // spellings, e.g. {"-m", "--model"}
  std::string metavar;             // value placeholder ("FILE"); empty: a switch
  std::string help;
  std::string default_text;        // shown as "(default: ...)"; empty: none or required
  // Stores the value; `flag` is the spelling used (for messages), a switch
  // gets value "".
  std::function<void(const std::string& flag, const std::string& value)> set;
  bool required = false;
  bool repeatable = false;         // each use adds (a list), no warning
  std::string section;             // help heading; empty: "options"
};

struct CommandLine {
  std::string name;         // "run"
  std::string usage;        // the synopsis after "usage: kestrel "
  std::string description;  // one paragraph for --help
  std::vector<Option> options;
  // Groups of spellings (any alias of an option) of which at most one may
  // be given, e.g. {"-p", "-f"}.
  std::vector<std::vector<std::string>> exclusive;
  // Receives arguments that do not start with '-' (and "-" itself);
  // null: such an argument is an error.
  std::function<void(const std::string& arg)> positional;
  std::string footer;       // extra help text after the options
};

// Parses every remaining argument of `args`. Returns false when -h/--help
// was given (nothing else is checked then: the caller prints the help and
// exits 0). Throws kestrel::Error for every problem described above.
bool parse_command_line(Args& args, const CommandLine& cl);

// The --help text: usage, description, every option with its default.
std::string help_text(const CommandLine& cl);

// A command's whole parse: the table line(o) fills o, then check(o) (may
// be null) runs the command's own checks. Returns false when --help was
// asked; with print_help the help goes to stdout, its defaults taken from
// a fresh O (not from options given before --help).
template <typename O>
bool parse_options(Args& args, O& o, CommandLine (*line)(O&), std::type_identity_t<void (*)(O&)> check,
                   bool print_help = true) {
  if (!parse_command_line(args, line(o))) {
    if (print_help) {
      O fresh;
      std::fputs(help_text(line(fresh)).c_str(), stdout);
    }
    return false;
  }
  if (check) check(o);
  return true;
}

// validate_X_args(): the whole parse and checks of a fresh O, printing
// nothing (not even --help) and running nothing.
template <typename O>
void validate_options(Args& args, CommandLine (*line)(O&), std::type_identity_t<void (*)(O&)> check) {
  O o;
  parse_options(args, o, line, check, false);
}

// Helpers for the tables. value_option is the general form: a value
// option (or, with an empty metavar, a switch) with its setter.
using Setter = std::function<void(const std::string& flag, const std::string& value)>;
Option value_option(std::vector<std::string> names, std::string metavar, std::string help, std::string default_text,
                    Setter set);
std::string thread_default_text();  // "N (the physical cores)"
// An option whose value is parsed by parse_int into `out`.
Option int_option(std::vector<std::string> names, std::string metavar, std::string help, int64_t& out,
                  int64_t min, int64_t max);
Option int_option(std::vector<std::string> names, std::string metavar, std::string help, int& out, int64_t min,
                  int64_t max);
Option string_option(std::vector<std::string> names, std::string metavar, std::string help, std::string& out);
Option switch_option(std::vector<std::string> names, std::string help, bool& out, bool value = true);
// The same option marked required / repeatable.
Option required(Option o);
Option repeatable(Option o);
// The shared "-p TEXT" / "-f FILE" pair (give them an exclusive group): the
// text, or the path of a file to read it from later; `given` is set by either.
std::vector<Option> prompt_options(const std::string& what, std::string& text, std::string& file, bool& given);
// The shared -t/--threads option (0 stays "one per physical core").
Option threads_option(int& out);
// The shared --force/-y switch of the commands that write a file.
Option force_option(bool& out);
// The shared required -m/--model FILE.
Option model_option(std::string& out, std::string help = "model");
// A required -f/--file input read as text (a file or a pipe).
Option text_file_option(std::string metavar, std::string help, std::string& out);
// -c/--ctx-size of the commands that hold one context (0: the model's default).
Option ctx_size_option(int64_t& out);
// -c, --chunks and -b of the chunked evaluations (perplexity, imatrix);
// `verb` says what is done to a chunk ("score", "process").
std::vector<Option> chunk_options(const std::string& verb, int64_t& n_ctx, int64_t& n_chunks, int64_t& n_batch);

}  // namespace kestrel::cli
