// `kestrel inspect M.gguf`: metadata (arrays abbreviated) and the tensor table.
#include <cstdio>
#include <string>
#include <variant>

#include "commands.h"
#include "gguf/gguf_reader.h"
#include "quant/type_traits.h"

namespace kestrel::cli {
namespace {

std::string escape(std::string_view s, size_t max_len) {
  std::string out;
  for (char ch : s.substr(0, max_len)) {
    if (ch == '\n') out += "\\n";
    else if (ch == '\t') out += "\\t";
    else if (ch == '"') out += "\\\"";
    else out += ch;
  }
  if (s.size() > max_len) out += "...";
  return out;
}

std::string scalar_text(const gguf::Scalar& s) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) return "\"" + escape(v, 120) + "\"";
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
  std::string out = "[" + std::string(gguf::value_type_name(a.elem_type)) + " x " + std::to_string(n) + "]";
  const size_t show = n < 6 ? n : 6;
  out += " [";
  for (size_t i = 0; i < show; ++i) {
    if (i) out += ", ";
    if (!a.strings.empty()) out += "\"" + escape(a.strings[i], 40) + "\"";
    else if (!a.floats.empty()) out += std::to_string(a.floats[i]);
    else if (!a.ints.empty()) out += std::to_string(a.ints[i]);
  }
  if (n > show) out += ", ...";
  return out + "]";
}

}  // namespace

int cmd_inspect(Args& args) {
  std::string path;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "-h" || a == "--help") {
      std::printf("usage: kestrel inspect M.gguf\n");
      return 0;
    }
    if (a == "-m" || a == "--model") path = args.value(a);
    else if (!a.empty() && a[0] != '-' && path.empty()) path = a;
    else Args::unknown("inspect", a);
  }
  if (path.empty()) throw Error("kestrel inspect: no GGUF file given");
  const auto r = gguf::Reader::open(path);
  std::printf("file: %s\nGGUF version: %u, alignment: %u, %zu metadata keys, %zu tensors, data at offset %llu\n\n",
              path.c_str(), r->version(), r->alignment(), r->metadata().size(), r->tensors().size(),
              static_cast<unsigned long long>(r->data_offset()));
  std::printf("metadata:\n");
  for (const auto& kv : r->metadata()) {
    const std::string v = kv.value.type == gguf::ValueType::ARRAY ? array_text(kv.value.array)
                                                                  : scalar_text(kv.value.scalar);
    std::printf("  %-44.*s %s\n", static_cast<int>(kv.key.size()), kv.key.data(), v.c_str());
  }
  std::printf("\ntensors:\n  %-36s %-6s %-24s %14s %12s\n", "name", "type", "shape", "offset", "bytes");
  uint64_t total = 0, elems = 0;
  for (const auto& t : r->tensors()) {
    std::string shape;
    for (size_t i = 0; i < t.ne.size(); ++i) shape += (i ? " x " : "") + std::to_string(t.ne[i]);
    const auto name = type_traits(t.type).name;
    std::printf("  %-36.*s %-6.*s %-24s %14llu %12llu\n", static_cast<int>(t.name.size()), t.name.data(),
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
