// Writer tests: value round trips, byte-identical rewrite, alignment,
// atomic file writes, argument validation, and byte-for-byte reproduction of
// llama.cpp-written golden files.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/interrupt.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "gguf_test_util.h"

namespace kestrel::gguf::testing {
namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("kestrel_gguf_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(GgufWriter, EmptyFileLayout) {
  Writer w;
  const auto b = w.to_bytes();
  // magic, version 3, 0 tensors, 0 keys, then padding to 32 (ggml always pads).
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "GGUF");
  EXPECT_EQ(peek<uint32_t>(b, 4), 3u);
  EXPECT_EQ(peek<uint64_t>(b, 8), 0u);
  EXPECT_EQ(peek<uint64_t>(b, 16), 0u);
  auto r = Reader::from_memory(b.data(), b.size());
  EXPECT_TRUE(r->metadata().empty());
  EXPECT_EQ(r->data_offset(), 24u);  // ggml pads the data start only when there are tensors
}

TEST(GgufWriter, ScalarEncodingBytes) {
  Writer w;
  w.set_u16("k", 0x1234);
  const auto b = w.to_bytes();
  // header 24, key length 8 + "k", type u32 = 2, value 34 12.
  EXPECT_EQ(peek<uint64_t>(b, 24), 1u);
  EXPECT_EQ(b[32], 'k');
  EXPECT_EQ(peek<uint32_t>(b, 33), 2u);
  EXPECT_EQ(b[37], 0x34);
  EXPECT_EQ(b[38], 0x12);
}

TEST(GgufWriter, AllValueTypesRoundTrip) {
  SampleData d;
  const auto b = build_sample(d);
  auto r = Reader::from_memory(b.data(), b.size());
  EXPECT_EQ(r->version(), 3u);
  EXPECT_EQ(std::get<uint8_t>(r->find("t.u8")->scalar), 200);
  EXPECT_EQ(std::get<int8_t>(r->find("t.i8")->scalar), -5);
  EXPECT_EQ(std::get<uint16_t>(r->find("t.u16")->scalar), 60000);
  EXPECT_EQ(std::get<int16_t>(r->find("t.i16")->scalar), -30000);
  EXPECT_EQ(std::get<uint32_t>(r->find("t.u32")->scalar), 4000000000u);
  EXPECT_EQ(std::get<int32_t>(r->find("t.i32")->scalar), -2000000000);
  EXPECT_EQ(std::get<uint64_t>(r->find("t.u64")->scalar), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(std::get<int64_t>(r->find("t.i64")->scalar), -(int64_t{1} << 40));
  EXPECT_EQ(std::get<float>(r->find("t.f32")->scalar), 1.5f);
  EXPECT_EQ(std::get<double>(r->find("t.f64")->scalar), 2.25);
  EXPECT_EQ(std::get<bool>(r->find("t.bool")->scalar), true);
  EXPECT_EQ(std::get<std::string_view>(r->find("t.str")->scalar), "hello");

  const Array* s = r->get_array("a.str");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->strings, (std::vector<std::string_view>{"a", "bc", ""}));
  EXPECT_EQ(r->get_array("a.f32")->floats, (std::vector<double>{0.5, -1.0}));
  EXPECT_EQ(r->get_array("a.i32")->ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r->get_array("a.u32")->ints, (std::vector<int64_t>{7, 4000000000}));
  EXPECT_EQ(r->get_array("a.u8")->ints, (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(r->get_array("a.i8")->ints, (std::vector<int64_t>{-128, 127}));
  EXPECT_EQ(r->get_array("a.u16")->ints, (std::vector<int64_t>{65535}));
  EXPECT_EQ(r->get_array("a.i16")->ints, (std::vector<int64_t>{-32768}));
  EXPECT_EQ(static_cast<uint64_t>(r->get_array("a.u64")->ints[0]), ~uint64_t{0});
  EXPECT_EQ(r->get_array("a.i64")->ints[0], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r->get_array("a.bool")->ints, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(r->get_array("a.f64")->floats, (std::vector<double>{1e300, -0.125}));
  EXPECT_EQ(r->get_array("a.f64")->elem_type, ValueType::F64);
  EXPECT_EQ(r->get_array("a.bool")->size(), 3u);

  // Keys and tensors keep insertion order; tensor bytes come back intact.
  EXPECT_EQ(r->metadata().front().key, "general.architecture");
  ASSERT_EQ(r->tensors().size(), 4u);
  EXPECT_EQ(r->tensors()[1].name, "tensor_b");
  const TensorInfo* c = r->find_tensor("tensor_c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->type, DType::Q4_K);
  EXPECT_EQ(c->n_elements(), 256);
  EXPECT_EQ(c->nbytes, 144u);
  EXPECT_EQ(std::vector<uint8_t>(r->tensor_data(*c), r->tensor_data(*c) + c->nbytes), d.q4_k);
  // Offsets are the running padded sum: 16 -> 32, 36 -> 64, 144 -> 160.
  EXPECT_EQ(r->tensors()[0].offset, 0u);
  EXPECT_EQ(r->tensors()[1].offset, 32u);
  EXPECT_EQ(r->tensors()[2].offset, 96u);
  EXPECT_EQ(r->tensors()[3].offset, 256u);
}

TEST(GgufWriter, WriteReadWriteIsByteIdentical) {
  SampleData d;
  const auto first = build_sample(d);
  auto r = Reader::from_memory(first.data(), first.size());
  Writer w;
  w.copy_from(*r);
  EXPECT_EQ(w.to_bytes(), first);
  // Also with a non-default alignment.
  const auto aligned = build_sample(d, 128);
  auto r2 = Reader::from_memory(aligned.data(), aligned.size());
  EXPECT_EQ(r2->alignment(), 128u);
  EXPECT_EQ(r2->data_offset() % 128, 0u);
  for (const TensorInfo& t : r2->tensors()) EXPECT_EQ(t.offset % 128, 0u);
  Writer w2;
  w2.copy_from(*r2);
  EXPECT_EQ(w2.to_bytes(), aligned);
}

// Found by the fuzzer: a 74-byte file declaring general.alignment = 2^30 and
// no tensors is valid (ggml pads the data start only when there are
// tensors), but re-writing it pads the header to 1 GiB, as ggml's writer
// does. byte_size() reports that without building it.
TEST(GgufWriter, HugeAlignmentWithoutTensors) {
  Writer w;
  w.set_u32("general.alignment", uint32_t{1} << 30);
  w.set_u8("k.u8", 0);
  EXPECT_EQ(w.byte_size(), uint64_t{1} << 30);
  Writer small;
  small.set_u32("general.alignment", 64);
  const auto b = small.to_bytes();
  EXPECT_EQ(small.byte_size(), b.size());
  EXPECT_EQ(b.size(), 64u);
  // The same header cut before the padding still parses (no tensors).
  std::vector<uint8_t> header(b.begin(), b.begin() + 24 + 8 + 17 + 4 + 4);
  poke<uint32_t>(header, header.size() - 4, uint32_t{1} << 30);
  auto r = Reader::from_memory(header.data(), header.size());
  EXPECT_EQ(r->alignment(), uint32_t{1} << 30);
  EXPECT_EQ(r->data_offset(), header.size());
}

TEST(GgufWriter, SetReplacesInPlace) {
  Writer w;
  w.set_u32("a", 1);
  w.set_string("b", "x");
  w.set_f32("a", 2.0f);
  const auto b = w.to_bytes();
  auto r = Reader::from_memory(b.data(), b.size());
  ASSERT_EQ(r->metadata().size(), 2u);
  EXPECT_EQ(r->metadata()[0].key, "a");
  EXPECT_EQ(r->get_float("a"), 2.0);
}

// Names of the temporary files (*.tmp) left in `dir`.
std::vector<std::string> tmp_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") out.push_back(e.path().string());
  }
  return out;
}

TEST(GgufWriter, WriteFileIsAtomic) {
  SampleData d;
  const std::string dir = temp_dir();
  const std::string path = dir + "/sample.gguf";
  Writer w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("x", {8}, DType::F32, d.f32.data(), d.f32.size());
  w.write_file(path);
  EXPECT_TRUE(tmp_files(dir).empty());
  EXPECT_EQ(read_all(path), w.to_bytes());
  auto r = Reader::open(path);
  EXPECT_EQ(r->path(), path);
  EXPECT_EQ(r->file_size(), w.to_bytes().size());

  // Renaming onto a non-empty directory fails: the error names the path and
  // the temporary file is gone.
  const std::string blocker = dir + "/blocker";
  std::filesystem::create_directories(blocker + "/inside");
  try {
    w.write_file(blocker);
    ADD_FAILURE() << "expected kestrel::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot rename"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(tmp_files(dir).empty());
  // A bad alignment throws before anything is left behind.
  Writer bad;
  bad.set_u32("general.alignment", 3);
  EXPECT_THROW(bad.write_file(dir + "/bad.gguf"), Error);
  EXPECT_TRUE(tmp_files(dir).empty());
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.gguf"));
  EXPECT_THROW(w.write_file(dir + "/no/such/dir/x.gguf"), Error);
  std::filesystem::remove_all(dir);
}

// A signal during the write (core/interrupt.h) stops it at the next tensor:
// Interrupted, not kestrel::Error, and the earlier file is untouched.
TEST(GgufWriter, InterruptedWriteLeavesTheOldFileAndNoTemporary) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/m.gguf";
  std::vector<uint8_t> big(1 << 16, 0x7f);
  Writer w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("x", {static_cast<int64_t>(big.size() / 4)}, DType::F32, big.data(), big.size());
  w.write_file(path);
  const std::vector<uint8_t> before = read_all(path);
  Writer w2;
  w2.set_string("general.architecture", "qwen2");
  w2.add_tensor("y", {static_cast<int64_t>(big.size() / 4)}, DType::F32, big.data(), big.size());
  kestrel::testing::simulate_interrupt(SIGTERM);
  EXPECT_THROW(w2.write_file(path), kestrel::Interrupted);
  kestrel::testing::reset_interrupt();
  EXPECT_EQ(read_all(path), before);
  EXPECT_TRUE(tmp_files(dir).empty());
  std::filesystem::remove_all(dir);
}

// Released pages of the mapping read back the file's bytes; ranges outside
// the mapping are ignored.
TEST(GgufReaderOpen, ReleasedPagesReadBackTheFile) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/big.gguf";
  std::vector<float> values(64 * 1024);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  Writer w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("x", {static_cast<int64_t>(values.size())}, DType::F32, values.data(), values.size() * 4);
  w.write_file(path);
  auto r = Reader::open(path);
  const TensorInfo* t = r->find_tensor("x");
  ASSERT_NE(t, nullptr);
  const uint8_t* data = r->tensor_data(*t);
  ASSERT_EQ(std::memcmp(data, values.data(), t->nbytes), 0);
  r->release_pages(data, t->nbytes);
  r->release_pages(values.data(), 16);         // not in the mapping
  r->release_pages(data, size_t(1) << 40);     // runs past its end
  EXPECT_EQ(std::memcmp(data, values.data(), t->nbytes), 0);
  EXPECT_EQ(r->get_string("general.architecture"), "llama");
  std::filesystem::remove_all(dir);
}

TEST(GgufReaderOpen, RejectsDirectoryAndEmptyFileNamingThePath) {
  const std::string dir = temp_dir();
  auto message = [](const std::string& path) -> std::string {
    try {
      Reader::open(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(dir).find("is a directory, not a file"), std::string::npos) << message(dir);
  const std::string empty = dir + "/empty.gguf";
  std::ofstream(empty).close();
  const std::string msg = message(empty);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find(empty), std::string::npos) << msg;
  std::filesystem::remove_all(dir);
}

TEST(GgufWriter, RejectsBadArguments) {
  SampleData d;
  Writer w;
  EXPECT_THROW(w.set_u8("", 1), Error);
  w.add_tensor("t", {8}, DType::F32, d.f32.data(), d.f32.size());
  EXPECT_THROW(w.add_tensor("t", {8}, DType::F32, d.f32.data(), d.f32.size()), Error);       // duplicate
  EXPECT_THROW(w.add_tensor("u", {16}, DType::F32, d.f32.data(), d.f32.size()), Error);      // size mismatch
  EXPECT_THROW(w.add_tensor("u", {16, 2}, DType::Q4_0, d.q4_0.data(), d.q4_0.size()), Error);  // row % 32
  EXPECT_THROW(w.add_tensor("u", {}, DType::F32, d.f32.data(), 4), Error);
  EXPECT_THROW(w.add_tensor("u", {1, 1, 1, 1, 1}, DType::F32, d.f32.data(), 4), Error);
  EXPECT_THROW(w.add_tensor("u", {-1}, DType::F32, d.f32.data(), 4), Error);
  EXPECT_THROW(w.add_tensor("u", {1}, static_cast<DType>(99), d.f32.data(), 4), Error);
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), {8}, DType::F32, d.f32.data(), d.f32.size()), Error);
  Value nested{ValueType::ARRAY, {}, {}};
  nested.array.elem_type = ValueType::ARRAY;
  EXPECT_THROW(w.set_value("n", nested), Error);
  EXPECT_THROW(w.set_value("m", Value{ValueType::U32, std::string_view("x"), {}}), Error);  // payload mismatch
  w.set_i32("general.alignment", 32);
  EXPECT_THROW(w.to_bytes(), Error);
}

// Reading a llama.cpp-written file and writing every key and tensor back
// must reproduce it exactly (same layout, padding and encodings).
void expect_golden_rewrite_identical(const std::string& name) {
  const std::string path = std::string(KESTREL_SHARED_DIR) + "/data/golden/" + name;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing golden file " << path;
  auto r = Reader::open(path);
  Writer w;
  for (const KeyValue& kv : r->metadata()) w.set_value(kv.key, kv.value);
  for (const TensorInfo& t : r->tensors()) w.add_tensor(t.name, t.ne, t.type, r->tensor_data(t), t.nbytes);
  const auto out = w.to_bytes();
  const auto original = read_all(path);
  ASSERT_EQ(out.size(), original.size());
  size_t first_diff = 0;
  while (first_diff < out.size() && out[first_diff] == original[first_diff]) ++first_diff;
  EXPECT_EQ(first_diff, out.size()) << "first differing byte at offset " << first_diff;
}

TEST(GgufWriter, GoldenLlamaQ4_0RewriteIdentical) { expect_golden_rewrite_identical("llama-spm-Q4_0.gguf"); }
TEST(GgufWriter, GoldenQwen2Q4_K_MRewriteIdentical) { expect_golden_rewrite_identical("qwen2-gpt2-Q4_K_M.gguf"); }

}  // namespace
}  // namespace kestrel::gguf::testing
