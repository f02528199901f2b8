// Typed-getter tests: conversions allowed, absent keys, and wrong types
// throwing kestrel::Error with a message naming the key and both types.
#include <gtest/gtest.h>

#include "gguf/gguf_reader.h"
#include "gguf_test_util.h"

namespace kestrel::gguf::testing {
namespace {

class GgufGetters : public ::testing::Test {
 protected:
  SampleData data;
  std::vector<uint8_t> bytes = build_sample(data);
  std::unique_ptr<Reader> r = Reader::from_memory(bytes.data(), bytes.size());

  template <typename F>
  void expect_error(F&& f, std::initializer_list<std::string_view> parts) {
    try {
      f();
      ADD_FAILURE() << "expected kestrel::Error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      for (std::string_view p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
    }
  }
};

TEST_F(GgufGetters, IntegersFromEveryIntegerType) {
  EXPECT_EQ(r->get_int("t.u8"), 200);
  EXPECT_EQ(r->get_int("t.i8"), -5);
  EXPECT_EQ(r->get_int("t.u16"), 60000);
  EXPECT_EQ(r->get_int("t.i16"), -30000);
  EXPECT_EQ(r->get_int("t.u32"), 4000000000);
  EXPECT_EQ(r->get_int("t.i32"), -2000000000);
  EXPECT_EQ(r->get_int("t.u64small"), 42);
  EXPECT_EQ(r->get_int("t.i64"), -(int64_t{1} << 40));
  expect_error([&] { r->get_int("t.u64"); }, {"'t.u64'", "does not fit in int64"});
  expect_error([&] { r->get_int("t.f32"); }, {"'t.f32'", "type f32", "integer"});
  expect_error([&] { r->get_int("t.bool"); }, {"type bool"});
  expect_error([&] { r->get_int("a.i32"); }, {"type array"});
}

TEST_F(GgufGetters, FloatsAcceptIntegers) {
  EXPECT_EQ(r->get_float("t.f32"), 1.5);
  EXPECT_EQ(r->get_float("t.f64"), 2.25);
  EXPECT_EQ(r->get_float("t.i8"), -5.0);
  EXPECT_EQ(r->get_float("t.u64"), static_cast<double>((uint64_t{1} << 63) + 5));
  expect_error([&] { r->get_float("t.str"); }, {"'t.str'", "type string", "number"});
}

TEST_F(GgufGetters, StringsBoolsArrays) {
  EXPECT_EQ(r->get_string("t.str"), "hello");
  EXPECT_EQ(r->get_bool("t.bool"), true);
  expect_error([&] { r->get_string("t.u8"); }, {"'t.u8'", "type u8", "expected string"});
  expect_error([&] { r->get_bool("t.u8"); }, {"expected bool"});
  expect_error([&] { r->get_array("t.str"); }, {"'t.str'", "expected array"});
  expect_error([&] { r->get_string("a.str"); }, {"type array"});
}

TEST_F(GgufGetters, AbsentKeys) {
  EXPECT_EQ(r->find("nope"), nullptr);
  EXPECT_FALSE(r->get_string("nope").has_value());
  EXPECT_FALSE(r->get_int("nope").has_value());
  EXPECT_FALSE(r->get_float("nope").has_value());
  EXPECT_FALSE(r->get_bool("nope").has_value());
  EXPECT_EQ(r->get_array("nope"), nullptr);
  EXPECT_EQ(r->get_string_or("nope", "fb"), "fb");
  EXPECT_EQ(r->get_int_or("nope", -7), -7);
  EXPECT_EQ(r->get_float_or("nope", 0.25), 0.25);
  EXPECT_EQ(r->get_bool_or("nope", true), true);
  // The *_or forms still throw on a present key of the wrong type.
  EXPECT_THROW(r->get_int_or("t.str", 1), Error);
  EXPECT_EQ(r->get_int_or("t.u8", 1), 200);
}

TEST_F(GgufGetters, ValueTypeNames) {
  EXPECT_EQ(value_type_name(ValueType::U8), "u8");
  EXPECT_EQ(value_type_name(ValueType::F64), "f64");
  EXPECT_EQ(value_type_name(ValueType::ARRAY), "array");
  EXPECT_EQ(value_type_name(static_cast<ValueType>(77)), "unknown");
}

}  // namespace
}  // namespace kestrel::gguf::testing
