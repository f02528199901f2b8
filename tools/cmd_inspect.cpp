// `kestrel inspect M.gguf`: metadata (arrays abbreviated) and the tensor table.
#include <cstdio>
#include <string>
#include <variant>

#include "commands.h"
#include "options.h"
#include "text_escape.h"
#include "gguf/gguf_reader.h"
#include "quant/type_traits.h"

namespace kestrel::cli {
namespace {

// Metadata strings are arbitrary bytes: control characters are escaped so
// a hostile file cannot drive the terminal (text_escape.h). Built by
// appending: `"\"" + std::string&&` trips GCC 12's -Wrestrict false positive.
std::string quoted(std::string_view s, size_t max_len) {
  std::string out = "\"";
  out += escape_text(s.substr(0, max_len), '"');
  if (s.size() > max_len) out += "...";
  out += '"';
  return out;
}

std::string scalar_text(const gguf::Scalar& s) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) return quoted(v, 120);
        else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_floating_point_v<T>) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
          return buf;
        } else return std::to_string(v);
      },
      s);
}

std::string array_text(const gguf::Array& a) {
  const size_t n = a.size();
  std::string out = "[";  // appended for GCC 12's -Wrestrict false positive (see quoted())
  out += gguf::value_type_name(a.elem_type);
  out += " x " + std::to_string(n) + "]";
  const size_t show = n < 6 ? n : 6;
  out += " [";
  for (size_t i = 0; i < show; ++i) {
    if (i) out += ", ";
    if (!a.strings.empty()) out += quoted(a.strings[i], 40);
    else if (!a.floats.empty()) out += std::to_string(a.floats[i]);
    else if (!a.ints.empty()) out += std::to_string(a.ints[i]);
  }
  if (n > show) out += ", ...";
  return out + "]";
}

struct InspectOptions {
  std::string path;
};

CommandLine inspect_command_line(InspectOptions& o) {
  CommandLine cl;
  cl.name = "inspect";
  cl.usage = "inspect M.gguf";
  cl.description = "Prints a GGUF file's metadata (arrays abbreviated, strings escaped) and its tensor table.";
  cl.options = {string_option({"-m", "--model"}, "FILE", "the GGUF file (or give it as the only argument)", o.path)};
  cl.positional = [&o](const std::string& a) {
    if (!o.path.empty()) throw Error("kestrel inspect: give one GGUF file (got '" + o.path + "' and '" + a + "')");
    o.path = a;
  };
  return cl;
}

void check_inspect(InspectOptions& o) {
  if (o.path.empty()) throw Error("kestrel inspect: no GGUF file given");
}

}  // namespace

void validate_inspect_args(Args& args) { validate_options(args, inspect_command_line, check_inspect); }

int cmd_inspect(Args& args) {
  InspectOptions o;
  if (!parse_options(args, o, inspect_command_line, check_inspect)) return 0;
  const std::string& path = o.path;
  const auto r = gguf::Reader::open(path);
  std::printf("file: %s\nGGUF version: %u, alignment: %u, %zu metadata keys, %zu tensors, data at offset %llu\n\n",
              path.c_str(), r->version(), r->alignment(), r->metadata().size(), r->tensors().size(),
              static_cast<unsigned long long>(r->data_offset()));
  std::printf("metadata:\n");
  for (const auto& kv : r->metadata()) {
    const std::string v = kv.value.type == gguf::ValueType::ARRAY ? array_text(kv.value.array)
                                                                  : scalar_text(kv.value.scalar);
    const std::string key = escape_text(kv.key);
    std::printf("  %-44s %s\n", key.c_str(), v.c_str());
  }
  std::printf("\ntensors:\n  %-36s %-6s %-24s %14s %12s\n", "name", "type", "shape", "offset", "bytes");
  uint64_t total = 0, elems = 0;
  for (const auto& t : r->tensors()) {
    std::string shape;
    for (size_t i = 0; i < t.ne.size(); ++i) shape += (i ? " x " : "") + std::to_string(t.ne[i]);
    const auto name = type_traits(t.type).name;
    const std::string tname = escape_text(t.name);
    std::printf("  %-36s %-6.*s %-24s %14llu %12llu\n", tname.c_str(),
                static_cast<int>(name.size()), name.data(), shape.c_str(),
                static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.nbytes));
    total += t.nbytes;
    elems += static_cast<uint64_t>(t.n_elements());
  }
  std::printf("\n%zu tensors, %llu parameters, %.2f MiB of tensor data (%.3f bits per weight)\n",
              r->tensors().size(), static_cast<unsigned long long>(elems), total / 1048576.0,
              elems ? 8.0 * static_cast<double>(total) / static_cast<double>(elems) : 0.0);
  return 0;
}

}  // namespace kestrel::cli
