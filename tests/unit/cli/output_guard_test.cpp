// tools/output_guard.h: an output is never one of the inputs (also through
// links), never a directory, and replaces only its own kind of file unless
// forced.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "gguf/gguf_writer.h"
#include "output_guard.h"
#include "test_support.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

class OutputGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    gguf::Writer model;
    model.set_string("general.architecture", "llama");
    model.write_file(p("model.gguf"));
    gguf::Writer im;
    im.set_string("general.type", "imatrix");
    im.write_file(p("imatrix.gguf"));
    std::ofstream(p("text.txt")) << "some words\n";
    std::ofstream(p("base.kld"), std::ios::binary) << std::string("KSTLPRB1\x01\0\0\0", 12);
    std::ofstream(p("blob.bin"), std::ios::binary) << std::string("\x01\x02\x00\xff", 4);
    std::ofstream(p("broken.gguf"), std::ios::binary) << "GGUF\x03";
    std::ofstream(p("empty")).close();
  }
  std::string p(const std::string& name) const { return scratch_.file(name); }
  test::ScratchDir scratch_{"guard"};
  const fs::path dir_{scratch_.path()};
};

using test::error_of;

TEST_F(OutputGuard, DescribesWhatIsThere) {
  EXPECT_EQ(describe_existing_file(p("model.gguf")), "a GGUF model");
  EXPECT_EQ(describe_existing_file(p("imatrix.gguf")), "a GGUF imatrix");
  EXPECT_EQ(describe_existing_file(p("text.txt")), "a text file");
  EXPECT_EQ(describe_existing_file(p("base.kld")), "a kestrel KLD base file");
  EXPECT_EQ(describe_existing_file(p("blob.bin")), "a binary file of unknown kind");
  EXPECT_EQ(describe_existing_file(p("broken.gguf")), "a GGUF file kestrel cannot read");
  EXPECT_EQ(describe_existing_file(p("empty")), "an empty file");
  EXPECT_EQ(describe_existing_file(dir_.string()), "a directory");
  EXPECT_EQ(describe_existing_file(p("missing")), "missing");
}

TEST_F(OutputGuard, AnInputIsNeverAnOutputWhateverTheLink) {
  fs::create_symlink(p("model.gguf"), p("sym.gguf"));
  fs::create_hard_link(p("model.gguf"), p("hard.gguf"));
  for (const char* out : {"model.gguf", "sym.gguf", "hard.gguf"}) {
    for (bool force : {false, true}) {
      const std::string e =
          error_of([&] { check_output_path(p(out), {p("model.gguf")}, OutputKind::GgufModel, force); });
      EXPECT_EQ(e, "refusing to write '" + p(out) + "': it is the input '" + p("model.gguf") +
                       "' (the same file); kestrel never overwrites what it reads");
    }
  }
  // An input given through a link is the same file as well.
  EXPECT_NE(error_of([&] { check_output_path(p("model.gguf"), {p("sym.gguf")}, OutputKind::GgufModel, false); }), "");
  // Empty input names (an option not given) are ignored.
  EXPECT_EQ(error_of([&] { check_output_path(p("new.gguf"), {"", p("model.gguf")}, OutputKind::GgufModel, false); }),
            "");
}

TEST_F(OutputGuard, ReplacesOnlyItsOwnKindUnlessForced) {
  struct Case {
    const char* file;
    OutputKind kind;
    const char* is;  // "" : allowed
  };
  const Case cases[] = {
      {"model.gguf", OutputKind::GgufModel, ""},
      {"empty", OutputKind::GgufModel, ""},
      {"missing.gguf", OutputKind::GgufModel, ""},
      {"text.txt", OutputKind::GgufModel, "a text file"},
      {"imatrix.gguf", OutputKind::GgufModel, "a GGUF imatrix"},
      {"imatrix.gguf", OutputKind::Imatrix, ""},
      {"model.gguf", OutputKind::Imatrix, "a GGUF model"},
      {"base.kld", OutputKind::KldBase, ""},
      {"model.gguf", OutputKind::KldBase, "a GGUF model"},
      {"text.txt", OutputKind::KldBase, "a text file"},
      {"blob.bin", OutputKind::KldBase, "a binary file of unknown kind"},
      {"broken.gguf", OutputKind::GgufModel, "a GGUF file kestrel cannot read"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of([&] { check_output_path(p(c.file), {}, c.kind, false); });
    if (*c.is == 0) {
      EXPECT_EQ(e, "") << c.file;
    } else {
      EXPECT_NE(e.find("refusing to replace '" + p(c.file) + "': it is " + c.is), std::string::npos) << e;
      EXPECT_NE(e.find("(pass --force to replace it anyway)"), std::string::npos) << e;
      EXPECT_EQ(error_of([&] { check_output_path(p(c.file), {}, c.kind, true); }), "") << c.file;
    }
  }
}

TEST_F(OutputGuard, DirectoriesAndDevicesAreNeverReplaced) {
  for (bool force : {false, true}) {
    EXPECT_EQ(error_of([&] { check_output_path(dir_.string(), {}, OutputKind::GgufModel, force); }),
              "cannot write '" + dir_.string() + "': it is a directory");
    EXPECT_EQ(error_of([&] { check_output_path("/dev/null", {}, OutputKind::KldBase, force); }),
              "cannot write '/dev/null': it is not a regular file");
  }
  EXPECT_EQ(error_of([&] { check_output_path("", {}, OutputKind::GgufModel, false); }),
            "the output file name is empty");
}

}  // namespace
}  // namespace kestrel::cli
