// Malformed-input tests for the GGUF reader.
//
// Each test takes the valid sample file from gguf_test_util.h, breaks one
// thing, and checks that parsing throws kestrel::Error whose message names
// the problem (substring match) and, where it applies, the key or tensor.
#include <gtest/gtest.h>

#include "gguf/gguf_reader.h"
#include "gguf_test_util.h"

namespace kestrel::gguf::testing {
namespace {

class GgufMalformed : public ::testing::Test {
 protected:
  SampleData data;
  std::vector<uint8_t> bytes = build_sample(data);

  // Expects a parse error containing every one of `parts`.
  void expect_error(const std::vector<uint8_t>& b, std::initializer_list<std::string_view> parts) {
    const std::string msg = parse_error(b);
    ASSERT_FALSE(msg.empty()) << "parsed without error, expected: " << *parts.begin();
    for (std::string_view p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
};

TEST_F(GgufMalformed, SampleIsValid) {
  ASSERT_EQ(parse_error(bytes), "");
  auto r = Reader::from_memory(bytes.data(), bytes.size());
  // The last tensor is 32 bytes, so the file ends exactly at its data and
  // every truncation below cuts something the reader needs.
  const TensorInfo& last = r->tensors().back();
  EXPECT_EQ(r->data_offset() + last.offset + last.nbytes, bytes.size());
}

TEST_F(GgufMalformed, TruncationAtEveryOffsetThrows) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string msg = parse_error(cut);
    ASSERT_FALSE(msg.empty()) << "truncated at " << n << " parsed";
    const bool named = msg.find("truncated") != std::string::npos ||
                       msg.find("past end of file") != std::string::npos ||
                       msg.find("cannot fit") != std::string::npos;
    EXPECT_TRUE(named) << "at " << n << ": " << msg;
  }
}

TEST_F(GgufMalformed, EmptyInput) { expect_error({}, {"truncated", "magic"}); }

TEST_F(GgufMalformed, BadMagic) {
  bytes[3] = 'X';
  expect_error(bytes, {"bad magic", "'GGUX'"});
}

TEST_F(GgufMalformed, Versions) {
  auto with_version = [&](uint32_t v) {
    auto b = bytes;
    poke<uint32_t>(b, 4, v);
    return b;
  };
  expect_error(with_version(0), {"version 0"});
  expect_error(with_version(1), {"version 1"});
  expect_error(with_version(4), {"version 4", "newer"});
  expect_error(with_version(0x03000000u), {"big-endian"});
  EXPECT_EQ(parse_error(with_version(2)), "");  // v2 has the same layout
}

TEST_F(GgufMalformed, HugeCounts) {
  auto b = bytes;
  poke<uint64_t>(b, 16, uint64_t{1} << 60);  // n_kv
  expect_error(b, {"metadata keys", "cannot fit"});
  b = bytes;
  poke<uint64_t>(b, 8, ~uint64_t{0});  // n_tensors
  expect_error(b, {"tensors", "cannot fit"});
}

TEST_F(GgufMalformed, StringLengthPastEnd) {
  poke<uint64_t>(bytes, value_pos(bytes, "t.str"), 1000000000000ull);
  expect_error(bytes, {"key 't.str'", "string length 1000000000000", "past end of file"});
}

TEST_F(GgufMalformed, KeyLengthPastEnd) {
  poke<uint64_t>(bytes, key_len_pos(bytes, "t.u16"), ~uint64_t{0});
  expect_error(bytes, {"string length", "past end of file"});
}

TEST_F(GgufMalformed, EmptyKey) {
  // Turn the 4-byte key "t.u8" into an empty key followed by... a broken
  // stream; the empty key is reported first.
  poke<uint64_t>(bytes, key_len_pos(bytes, "t.u8"), 0);
  expect_error(bytes, {"key is empty"});
}

TEST_F(GgufMalformed, ArrayCountPastEnd) {
  // Array layout after the value type: u32 element type, u64 count.
  auto b = bytes;
  poke<uint64_t>(b, value_pos(b, "a.str") + 4, uint64_t{1} << 40);
  expect_error(b, {"key 'a.str'", "array of 1099511627776 string elements", "array count past end"});
  b = bytes;
  poke<uint64_t>(b, value_pos(b, "a.f32") + 4, ~uint64_t{0});
  expect_error(b, {"key 'a.f32'", "array count past end"});
}

TEST_F(GgufMalformed, ArrayOfArrays) {
  poke<uint32_t>(bytes, value_pos(bytes, "a.i32"), 9);
  expect_error(bytes, {"key 'a.i32'", "arrays of arrays"});
}

TEST_F(GgufMalformed, UnknownValueTypes) {
  auto b = bytes;
  poke<uint32_t>(b, value_type_pos(b, "t.u8"), 13);
  expect_error(b, {"key 't.u8'", "unknown value type 13"});
  b = bytes;
  poke<uint32_t>(b, value_pos(b, "a.u8"), 0xdeadbeef);
  expect_error(b, {"key 'a.u8'", "unknown array element type 3735928559"});
}

TEST_F(GgufMalformed, DuplicateKey) {
  const size_t p = find_bytes(bytes, "t.i8");
  bytes[p + 2] = 'u';  // "t.i8" -> "t.u8"
  expect_error(bytes, {"key 't.u8'", "duplicate key"});
}

TEST_F(GgufMalformed, UnknownTensorType) {
  auto b = bytes;
  poke<uint32_t>(b, type_pos(b, "tensor_a"), 99);
  expect_error(b, {"tensor 'tensor_a'", "unknown tensor type id 99"});
  b = bytes;
  poke<uint32_t>(b, type_pos(b, "tensor_a"), 23);
  expect_error(b, {"tensor 'tensor_a'", "iq4_xs", "not supported"});
}

TEST_F(GgufMalformed, DimensionCount) {
  auto b = bytes;
  poke<uint32_t>(b, n_dims_pos(b, "tensor_b"), 0);
  expect_error(b, {"tensor 'tensor_b'", "has 0 dimensions"});
  b = bytes;
  poke<uint32_t>(b, n_dims_pos(b, "tensor_b"), 5);
  expect_error(b, {"tensor 'tensor_b'", "has 5 dimensions"});
}

TEST_F(GgufMalformed, DimensionsOverflow) {
  auto b = bytes;
  poke<uint64_t>(b, ne_pos(b, "tensor_a", 0), uint64_t{1} << 32);
  poke<uint64_t>(b, ne_pos(b, "tensor_a", 1), uint64_t{1} << 32);
  expect_error(b, {"tensor 'tensor_a'", "overflows int64"});
  b = bytes;
  poke<int64_t>(b, ne_pos(b, "tensor_a", 1), -2);
  expect_error(b, {"tensor 'tensor_a'", "dimension 1 is negative"});
}

TEST_F(GgufMalformed, RowLengthNotMultipleOfBlock) {
  poke<uint64_t>(bytes, ne_pos(bytes, "tensor_b", 0), 16);
  poke<uint64_t>(bytes, ne_pos(bytes, "tensor_b", 1), 4);
  expect_error(bytes, {"tensor 'tensor_b'", "ne[0] = 16", "not a multiple of the q4_0 block size 32"});
}

TEST_F(GgufMalformed, MisalignedOffset) {
  const size_t p = offset_pos(bytes, "tensor_b");
  poke<uint64_t>(bytes, p, peek<uint64_t>(bytes, p) + 1);
  expect_error(bytes, {"tensor 'tensor_b'", "not a multiple of the alignment 32"});
}

TEST_F(GgufMalformed, OffsetNotRunningSum) {
  const size_t p = offset_pos(bytes, "tensor_c");
  poke<uint64_t>(bytes, p, peek<uint64_t>(bytes, p) + 32);
  expect_error(bytes, {"tensor 'tensor_c'", "is not the expected", "running sum"});
  // A first tensor that does not start at 0 is also out of sequence.
  auto b = build_sample(data);
  poke<uint64_t>(b, offset_pos(b, "tensor_a"), 32);
  expect_error(b, {"tensor 'tensor_a'", "data offset 32 is not the expected 0"});
}

TEST_F(GgufMalformed, DataPastEnd) {
  // Doubling the last tensor keeps every offset right but needs 32 more bytes.
  poke<uint64_t>(bytes, ne_pos(bytes, "tensor_d", 0), 16);
  expect_error(bytes, {"tensor 'tensor_d'", "data range [", "extends past end of file (size"});
}

TEST_F(GgufMalformed, DuplicateTensorName) {
  const size_t p = find_bytes(bytes, "tensor_c");
  bytes[p + 7] = 'a';
  expect_error(bytes, {"tensor 'tensor_a'", "duplicate tensor name"});
}

TEST_F(GgufMalformed, Alignment) {
  auto b = build_sample(data, 64);
  ASSERT_EQ(parse_error(b), "");
  const size_t vp = value_pos(b, "general.alignment");
  auto zero = b;
  poke<uint32_t>(zero, vp, 0);
  expect_error(zero, {"general.alignment", "alignment 0 is not a nonzero power of two"});
  auto odd = b;
  poke<uint32_t>(odd, vp, 48);
  expect_error(odd, {"alignment 48 is not a nonzero power of two"});
  auto wrong = b;
  poke<uint32_t>(wrong, value_type_pos(wrong, "general.alignment"), static_cast<uint32_t>(ValueType::I32));
  expect_error(wrong, {"general.alignment", "must be of type u32 but is i32"});
  // A smaller valid alignment breaks the offsets laid out for 64.
  auto smaller = b;
  poke<uint32_t>(smaller, vp, 16);
  EXPECT_NE(parse_error(smaller), "");
}

TEST_F(GgufMalformed, TensorNameTooLong) {
  // ggml allows at most 63 bytes. Stretching a name's length field to 64
  // makes it swallow the bytes that follow; the length check fires first.
  poke<uint64_t>(bytes, find_bytes(bytes, "tensor_b") - 8, 64);
  expect_error(bytes, {"name is 64 bytes", "limits tensor names to 63"});
}

TEST_F(GgufMalformed, HostileNamesAreQuotedSafely) {
  const size_t p = find_bytes(bytes, "tensor_c");
  bytes[p + 1] = '\n';
  bytes[p + 7] = 0x01;
  poke<uint32_t>(bytes, type_pos(bytes, "t\nnsor_\x01"), 77);
  expect_error(bytes, {"tensor 't\\x0ansor_\\x01'", "unknown tensor type id 77"});
}

}  // namespace
}  // namespace kestrel::gguf::testing
