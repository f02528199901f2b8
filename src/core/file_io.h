// Reading inputs and writing outputs without losing data.
//
// Inputs: a text input must be a regular file or a pipe (so `-f /dev/stdin`
// in a pipeline and `-f <(cmd)` work); a directory, a device or a socket is
// an error naming the path, never an empty prompt.
//
// Outputs: a TempFile is created next to its target under a unique name
// (TARGET.XXXXXX.tmp, opened with O_EXCL, so it can never be an existing
// file and in particular never one of the inputs) and registered with the
// interrupt handler. commit() renames it onto the target; any other way out
// (an exception, an Interrupted checkpoint, a second signal) removes it.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <optional>
#include <string>

namespace kestrel {

// Device and inode of a path (following symbolic links), or nullopt when it
// cannot be stat'ed. Two paths name the same file exactly when these match,
// whatever links lead there.
struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId&) const = default;
};
std::optional<FileId> file_id(const std::string& path);
bool same_file(const std::string& a, const std::string& b);

// Throws kestrel::Error naming `path` unless it is a readable regular file
// or a pipe: "cannot open 'X': No such file or directory", "'X' is a
// directory, not a file", "'X' is a character device, not a file".
void require_readable_input(const std::string& path);

// The whole content of a text input checked as above.
std::string read_text_file(const std::string& path);

// A temporary output file that becomes `target` on commit().
class TempFile {
 public:
  // Creates TARGET.XXXXXX.tmp; throws kestrel::Error naming the target's
  // folder when it cannot.
  explicit TempFile(const std::string& target);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::FILE* file() { return f_; }
  const std::string& path() const { return path_; }
  const std::string& target() const { return target_; }
  // Flushes, closes and renames onto the target; throws kestrel::Error
  // (after removing the temporary file) when any step fails.
  void commit();
  // Closes and removes the temporary file now (idempotent).
  void discard();

 private:
  std::string target_, path_;
  std::FILE* f_ = nullptr;
  int slot_ = -1;
};

// Throws kestrel::Error (naming the path) when nothing can be created at
// `path`'s folder: a cheap check before a long computation.
void require_writable_output(const std::string& path);

}  // namespace kestrel
