// Output path checks (output_guard.h).
#include "output_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/error.h"
#include "core/file_io.h"
#include "gguf/gguf_reader.h"

namespace kestrel::cli {
namespace {

// The first bytes of a file (fewer when it is shorter).
std::string head_bytes(const std::string& path, size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  std::string buf(n, '\0');
  const ssize_t got = ::read(fd, buf.data(), n);
  ::close(fd);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return buf;
}

bool looks_like_text(const std::string& bytes) {
  for (unsigned char c : bytes) {
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f')) return false;
  }
  return true;
}

const char* kind_name(OutputKind k) {
  switch (k) {
    case OutputKind::GgufModel: return "a GGUF model";
    case OutputKind::Imatrix: return "a GGUF imatrix";
    case OutputKind::KldBase: return "a kestrel KLD base file";
  }
  return "?";
}

}  // namespace

std::string describe_existing_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_size == 0) return "an empty file";
  const std::string head = head_bytes(path, 4096);
  if (head.rfind("KSTLPRB1", 0) == 0) return kind_name(OutputKind::KldBase);
  if (head.rfind("GGUF", 0) == 0) {
    try {
      const auto r = gguf::Reader::open(path);
      return r->get_string_or("general.type", "model") == "imatrix" ? kind_name(OutputKind::Imatrix)
                                                                     : kind_name(OutputKind::GgufModel);
    } catch (const std::exception&) {
      return "a GGUF file kestrel cannot read";
    }
  }
  return looks_like_text(head) ? "a text file" : "a binary file of unknown kind";
}

void check_output_path(const std::string& out, const std::vector<std::string>& inputs, OutputKind kind, bool force) {
  if (out.empty()) throw Error("the output file name is empty");
  for (const std::string& in : inputs) {
    if (!in.empty() && same_file(in, out)) {
      throw Error("refusing to write '" + out + "': it is the input '" + in +
                  "' (the same file); kestrel never overwrites what it reads");
    }
  }
  const std::string what = describe_existing_file(out);
  if (what == "missing" || what == "an empty file" || what == kind_name(kind)) return;
  if (what == "a directory" || what == "not a regular file") {
    throw Error("cannot write '" + out + "': it is " + what);
  }
  if (!force) {
    throw Error("refusing to replace '" + out + "': it is " + what + ", not " + kind_name(kind) +
                " (pass --force to replace it anyway)");
  }
}

}  // namespace kestrel::cli
