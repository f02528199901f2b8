// Option tables: parsing and --help (options.h).
#include "options.h"

#include <cstdio>
#include <map>
#include <set>

#include "core/error.h"
#include "core/thread_pool.h"

namespace kestrel::cli {
namespace {

const Option* find_option(const CommandLine& cl, const std::string& spelling) {
  for (const Option& o : cl.options) {
    for (const std::string& n : o.names) {
      if (n == spelling) return &o;
    }
  }
  return nullptr;
}

constexpr size_t kHelpColumn = 36;  // where option help starts
constexpr size_t kHelpWidth = 100;  // wrap help lines here

// `left` then `text` word-wrapped at kHelpWidth, continuation lines
// indented to kHelpColumn.
std::string wrap(const std::string& left, const std::string& text) {
  std::string out = left, word;
  size_t col = left.size();
  const auto flush_word = [&] {
    if (word.empty()) return;
    if (col + 1 + word.size() > kHelpWidth && col > kHelpColumn) {
      out += "\n" + std::string(kHelpColumn, ' ');
      col = kHelpColumn;
    } else if (col > left.size() || left.back() != ' ') {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') flush_word();
    else word += c;
  }
  flush_word();
  return out + "\n";
}

bool is_help(const std::string& a) { return a == "-h" || a == "--help"; }

std::string joined_names(const Option& o) {
  std::string s;
  for (const std::string& n : o.names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void check_exclusive(const CommandLine& cl, const std::map<const Option*, std::string>& spelled) {
  for (const auto& group : cl.exclusive) {
    std::vector<std::string> given;
    std::set<const Option*> distinct;
    for (const std::string& name : group) {
      const Option* o = find_option(cl, name);
      if (o && spelled.count(o) && distinct.insert(o).second) given.push_back(spelled.at(o));
    }
    if (given.size() > 1) {
      throw Error("kestrel " + cl.name + ": options " + given[0] + " and " + given[1] + " cannot be used together");
    }
  }
}

void check_required(const CommandLine& cl, const std::map<const Option*, std::string>& spelled) {
  for (const Option& o : cl.options) {
    if (o.required && !spelled.count(&o)) {
      throw Error("kestrel " + cl.name + ": " + o.names.front() + (o.metavar.empty() ? "" : " " + o.metavar) +
                  " is required");
    }
  }
}

}  // namespace

bool parse_command_line(Args& args, const CommandLine& cl) {
  std::map<const Option*, std::string> first_value, spelled;
  while (!args.done()) {
    const std::string a = args.next();
    if (is_help(a)) return false;
    const Option* o = find_option(cl, a);
    if (!o) {
      if (cl.positional && (a.empty() || a[0] != '-' || a == "-")) {
        cl.positional(a);
        continue;
      }
      Args::unknown(cl.name, a);
    }
    std::string v;
    if (!o->metavar.empty()) {
      v = args.value(a);
      // "-m -p x": the model path is missing, not "-p".
      if (find_option(cl, v) || is_help(v)) throw Error("option " + a + " needs a value (got the option " + v + ")");
    }
    if (const auto it = first_value.find(o); it != first_value.end() && !o->repeatable) {
      if (!o->metavar.empty() && it->second != v) {
        throw Error("kestrel " + cl.name + ": " + spelled[o] + " given twice ('" + it->second + "' and '" + v +
                    "'); give it once");
      }
      std::fprintf(stderr, "warning: %s given more than once\n", a.c_str());
    }
    first_value.emplace(o, v);
    spelled.emplace(o, a);
    o->set(a, v);
  }
  check_exclusive(cl, spelled);
  check_required(cl, spelled);
  return true;
}

std::string help_text(const CommandLine& cl) {
  std::string out = "usage: kestrel " + cl.usage + "\n";
  if (!cl.description.empty()) out += "\n" + cl.description + "\n";
  std::string section = "\x01";  // no heading printed yet
  auto line = [&](const std::string& left_in, const std::string& right) {
    std::string left = "  " + left_in;
    if (left.size() < kHelpColumn) left.resize(kHelpColumn, ' ');
    else left += "  ";
    out += wrap(left, right);
  };
  for (const Option& o : cl.options) {
    const std::string s = o.section.empty() ? "options" : o.section;
    if (s != section) {
      out += "\n" + s + ":\n";
      if (section == "\x01") line("-h, --help", "show this help and exit");
      section = s;
    }
    std::string right = o.help;
    if (o.required) right += " (required)";
    else if (!o.default_text.empty()) right += " (default: " + o.default_text + ")";
    else if (o.metavar.empty()) right += " (default: off)";
    else right += " (default: none)";
    if (o.repeatable) right += " (repeatable)";
    line(joined_names(o) + (o.metavar.empty() ? "" : " " + o.metavar), right);
  }
  if (!cl.footer.empty()) out += "\n" + cl.footer + (cl.footer.back() == '\n' ? "" : "\n");
  return out;
}

std::string thread_default_text() { return std::to_string(default_thread_count()) + ", the physical cores"; }

Option value_option(std::vector<std::string> names, std::string metavar, std::string help, std::string default_text,
                    Setter set) {
  Option o;
  o.names = std::move(names);
  o.metavar = std::move(metavar);
  o.help = std::move(help);
  o.default_text = std::move(default_text);
  o.set = std::move(set);
  return o;
}

Option int_option(std::vector<std::string> names, std::string metavar, std::string help, int64_t& out, int64_t min,
                  int64_t max) {
  return value_option(std::move(names), std::move(metavar), std::move(help), std::to_string(out),
                      [&out, min, max](const std::string& f, const std::string& v) { out = parse_int(f, v, min, max); });
}

Option int_option(std::vector<std::string> names, std::string metavar, std::string help, int& out, int64_t min,
                  int64_t max) {
  return value_option(std::move(names), std::move(metavar), std::move(help), std::to_string(out),
                      [&out, min, max](const std::string& f, const std::string& v) {
                        out = static_cast<int>(parse_int(f, v, min, max));
                      });
}

Option string_option(std::vector<std::string> names, std::string metavar, std::string help, std::string& out) {
  return value_option(std::move(names), std::move(metavar), std::move(help), out,
                      [&out](const std::string&, const std::string& v) { out = v; });
}

Option switch_option(std::vector<std::string> names, std::string help, bool& out, bool value) {
  return value_option(std::move(names), "", std::move(help), "",
                      [&out, value](const std::string&, const std::string&) { out = value; });
}

Option required(Option o) {
  o.required = true;
  return o;
}

Option repeatable(Option o) {
  o.repeatable = true;
  return o;
}

std::vector<Option> prompt_options(const std::string& what, std::string& text, std::string& file, bool& given) {
  return {value_option({"-p", "--prompt"}, "TEXT", what, "",
                       [&text, &given](const std::string&, const std::string& v) { text = v, given = true; }),
          value_option({"-f", "--file"}, "FILE", "read the " + what + " from FILE (a file or a pipe)", "",
                       [&file, &given](const std::string&, const std::string& v) { file = v, given = true; })};
}

Option threads_option(int& out) {
  Option o = int_option({"-t", "--threads"}, "N", "threads", out, 1, 1024);
  o.default_text = thread_default_text();
  return o;
}

Option force_option(bool& out) {
  return switch_option({"-y", "--force"}, "replace an existing output file that is not this command's own kind", out);
}

Option model_option(std::string& out, std::string help) {
  return required(string_option({"-m", "--model"}, "FILE", std::move(help), out));
}

Option text_file_option(std::string metavar, std::string help, std::string& out) {
  return required(string_option({"-f", "--file"}, std::move(metavar), std::move(help), out));
}

Option ctx_size_option(int64_t& out) {
  return int_option({"-c", "--ctx-size"}, "N", "context size (0: min(4096, the model's trained context))", out, 0,
                    1 << 24);
}

std::vector<Option> chunk_options(const std::string& verb, int64_t& n_ctx, int64_t& n_chunks, int64_t& n_batch) {
  return {int_option({"-c", "--ctx-size"}, "N", "chunk size in tokens", n_ctx, 4, 1 << 20),
          value_option({"--chunks"}, "N", "chunks to " + verb + " (-1: all)", std::to_string(n_chunks),
                       [&n_chunks, verb](const std::string& f, const std::string& v) {
                         n_chunks = parse_int(f, v, -1, INT32_MAX);
                         if (n_chunks == 0) throw Error(f + " 0 would " + verb + " nothing: give N >= 1, or -1 for all");
                       }),
          int_option({"-b", "--batch-size"}, "N", "tokens per forward batch (0: the chunk size)", n_batch, 0, 1 << 20)};
}

}  // namespace kestrel::cli
