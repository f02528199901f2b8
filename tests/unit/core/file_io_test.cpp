// core/file_io.h: which paths count as the same file, which inputs are
// refused, and that a TempFile never leaves anything behind but its target.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <thread>
#include <fstream>
#include <stdexcept>

#include "core/error.h"
#include "core/file_io.h"
#include "test_support.h"

namespace kestrel {
namespace {

namespace fs = std::filesystem;

class FileIo : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return scratch_.file(name); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  std::vector<std::string> listing() const { return scratch_.listing(); }
  test::ScratchDir scratch_{"file_io"};
  const fs::path dir_{scratch_.path()};
};

using test::error_of;

TEST_F(FileIo, SameFileFollowsSymbolicAndHardLinks) {
  write("a.txt", "x");
  write("b.txt", "x");
  fs::create_symlink(path("a.txt"), path("sym.txt"));
  fs::create_hard_link(path("a.txt"), path("hard.txt"));
  EXPECT_TRUE(same_file(path("a.txt"), path("a.txt")));
  EXPECT_TRUE(same_file(path("a.txt"), path("sym.txt")));
  EXPECT_TRUE(same_file(path("hard.txt"), path("sym.txt")));
  EXPECT_TRUE(same_file(path("a.txt"), dir_.string() + "/./a.txt"));
  EXPECT_FALSE(same_file(path("a.txt"), path("b.txt")));  // equal content, other file
  EXPECT_FALSE(same_file(path("a.txt"), path("missing.txt")));
}

TEST_F(FileIo, InputsMustBeRegularFilesOrPipes) {
  write("t.txt", "hello\n");
  EXPECT_EQ(read_text_file(path("t.txt")), "hello\n");
  EXPECT_EQ(error_of([&] { read_text_file(dir_.string()); }), "'" + dir_.string() + "' is a directory, not a file");
  EXPECT_EQ(error_of([&] { read_text_file("/dev/zero"); }), "'/dev/zero' is a character device, not a file");
  EXPECT_NE(error_of([&] { read_text_file(path("missing.txt")); }).find("cannot open '" + path("missing.txt") + "'"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { read_text_file(""); }), "empty file name");
  // A pipe is read to its end (what `-f /dev/stdin` and `-f <(cmd)` give).
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(path("fifo")) << "piped"; });
  EXPECT_EQ(read_text_file(path("fifo")), "piped");
  writer.join();
}

TEST_F(FileIo, UnreadableFileIsAnErrorNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  write("secret.txt", "x");
  fs::permissions(path("secret.txt"), fs::perms::none);
  EXPECT_NE(error_of([&] { read_text_file(path("secret.txt")); }).find("cannot read '" + path("secret.txt")),
            std::string::npos);
}

TEST_F(FileIo, TempFileBecomesTheTargetOnlyOnCommit) {
  write("out.bin", "old");
  {
    TempFile t(path("out.bin"));
    EXPECT_EQ(t.path().rfind(path("out.bin") + ".", 0), 0u) << t.path();
    EXPECT_EQ(t.path().substr(t.path().size() - 4), ".tmp");
    std::fputs("new", t.file());
    EXPECT_EQ(listing().size(), 2u);
    // Destroyed uncommitted: the temporary file goes, the target stays.
  }
  EXPECT_EQ(listing(), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(read_text_file(path("out.bin")), "old");
  {
    TempFile t(path("out.bin"));
    std::fputs("new", t.file());
    t.commit();
  }
  EXPECT_EQ(listing(), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(read_text_file(path("out.bin")), "new");
  // The output gets the mode fopen() would give, not mkstemp's 0600.
  struct stat st {};
  ASSERT_EQ(::stat(path("out.bin").c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST_F(FileIo, TempFileIsRemovedWhenAnExceptionUnwinds) {
  EXPECT_THROW(
      {
        TempFile t(path("x.gguf"));
        std::fputs("partial", t.file());
        throw std::runtime_error("failure half way");
      },
      std::runtime_error);
  EXPECT_TRUE(listing().empty());
}

TEST_F(FileIo, TempFileNamesAreUniqueAndNeverAnExistingFile) {
  write("o.tmp", "keep");  // what a fixed "OUT.tmp" scheme would have clobbered
  TempFile a(path("o")), b(path("o"));
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(read_text_file(path("o.tmp")), "keep");
}

TEST_F(FileIo, CommitOntoADirectoryFailsAndCleansUp) {
  fs::create_directories(path("blocker/inside"));
  TempFile t(path("blocker"));
  std::fputs("x", t.file());
  const std::string e = error_of([&] { t.commit(); });
  EXPECT_NE(e.find("cannot rename"), std::string::npos) << e;
  EXPECT_EQ(listing(), std::vector<std::string>{"blocker"});
}

TEST_F(FileIo, WritableOutputCheckNamesTheFolder) {
  EXPECT_NO_THROW(require_writable_output(path("new.gguf")));
  EXPECT_TRUE(listing().empty());  // the probe leaves nothing
  const std::string e = error_of([&] { require_writable_output(path("no/dir/x.gguf")); });
  EXPECT_NE(e.find("cannot write '" + path("no/dir/x.gguf") + "'"), std::string::npos) << e;
  EXPECT_NE(e.find(path("no/dir")), std::string::npos) << e;
}

}  // namespace
}  // namespace kestrel
