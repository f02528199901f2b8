// Checked inputs and temporary outputs (file_io.h).
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"

namespace kestrel {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// What a non-regular file is, for the error message.
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISFIFO(m)) return "a pipe";
  return "not a regular file";
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

mode_t default_file_mode() {
  // The mode fopen() would give a new file: 0666 minus the umask (read by
  // setting it, the only portable way, and putting it straight back).
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

bool same_file(const std::string& a, const std::string& b) {
  const auto x = file_id(a), y = file_id(b);
  return x && y && *x == *y;
}

void require_readable_input(const std::string& path) {
  if (path.empty()) throw Error("empty file name");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error("cannot open '" + path + "': " + errno_text(errno));
  if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
    if (::access(path.c_str(), R_OK) != 0) throw Error("cannot read '" + path + "': " + errno_text(errno));
    return;
  }
  const char* kind = kind_of(st.st_mode);
  throw Error("'" + path + "' is " + kind + (std::strcmp(kind, "not a regular file") ? ", not a file" : ""));
}

std::string read_text_file(const std::string& path) {
  require_readable_input(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open '" + path + "': " + errno_text(errno));
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error("error reading '" + path + "': " + errno_text(err));
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TempFile::TempFile(const std::string& target) : target_(target) {
  std::vector<char> name(target.begin(), target.end());
  const std::string suffix = ".XXXXXX.tmp";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  const int fd = ::mkstemps(name.data(), 4);
  if (fd < 0) {
    throw Error("cannot write '" + target + "': cannot create a file in '" + folder_of(target) + "': " +
                errno_text(errno));
  }
  path_ = name.data();
  slot_ = register_temp_file(path_);
  ::fchmod(fd, default_file_mode());  // mkstemp's 0600 would leave the output private
  f_ = ::fdopen(fd, "wb");
  if (!f_) {
    const int err = errno;
    ::close(fd);
    discard();
    throw Error("cannot open '" + path_ + "': " + errno_text(err));
  }
}

TempFile::~TempFile() { discard(); }

void TempFile::discard() {
  if (f_) std::fclose(f_);
  f_ = nullptr;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  unregister_temp_file(slot_);
  slot_ = -1;
}

void TempFile::commit() {
  if (!f_) throw Error("internal: commit of a closed temporary file for '" + target_ + "'");
  int err = 0;
  if (std::fflush(f_) != 0) err = errno;
  if (std::fclose(f_) != 0 && err == 0) err = errno;
  f_ = nullptr;
  if (err != 0) {
    const std::string p = path_;
    discard();
    throw Error("writing '" + p + "' failed: " + errno_text(err));
  }
  if (::rename(path_.c_str(), target_.c_str()) != 0) {
    err = errno;
    const std::string p = path_;
    discard();
    throw Error("cannot rename '" + p + "' to '" + target_ + "': " + errno_text(err));
  }
  path_.clear();  // it is the target now: nothing to remove
  unregister_temp_file(slot_);
  slot_ = -1;
}

void require_writable_output(const std::string& path) {
  if (path.empty()) throw Error("empty output file name");
  TempFile probe(path);  // created and removed: proves the folder takes new files
}

}  // namespace kestrel
