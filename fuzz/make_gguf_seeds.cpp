// Writes the seed corpus for fuzz_gguf_reader: small valid GGUF files made
// with kestrel's Writer, each under 4 KB, together covering every metadata
// value type, every tensor type kestrel knows, a non-default alignment, a
// version-2 header, no tensors, and a vocabulary-like string array.
//
// Usage: make_gguf_seeds OUT_DIR   (fuzz/corpus/ holds the committed output;
// the files have no .gguf suffix because the repository ignores *.gguf)
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_writer.h"
#include "gguf/gguf_type_sizes.h"

namespace {

using namespace kestrel;
using namespace kestrel::gguf;

// Deterministic filler bytes for tensor payloads.
std::vector<uint8_t> payload(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + seed);
  return v;
}

Value int_array(ValueType t, std::vector<int64_t> ints) {
  Value v{ValueType::ARRAY, {}, {}};
  v.array.elem_type = t;
  v.array.ints = std::move(ints);
  return v;
}

void save(const std::filesystem::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream f(dir / name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw Error("cannot write " + (dir / name).string());
  std::printf("%-28s %5zu bytes\n", name.c_str(), bytes.size());
}

void all_value_types(Writer& w) {
  w.set_u8("k.u8", 1);
  w.set_i8("k.i8", -2);
  w.set_u16("k.u16", 3);
  w.set_i16("k.i16", -4);
  w.set_u32("k.u32", 5);
  w.set_i32("k.i32", -6);
  w.set_u64("k.u64", 7);
  w.set_i64("k.i64", -8);
  w.set_f32("k.f32", 0.5f);
  w.set_f64("k.f64", -0.25);
  w.set_bool("k.bool", true);
  w.set_string("k.str", "text");
  w.set_array_strings("a.str", {"x", "", "yz"});
  w.set_array_f32("a.f32", {1.0f, 2.0f});
  w.set_array_i32("a.i32", {-1, 2});
  w.set_array_u32("a.u32", {3});
  w.set_value("a.u8", int_array(ValueType::U8, {9}));
  w.set_value("a.i8", int_array(ValueType::I8, {-9}));
  w.set_value("a.u16", int_array(ValueType::U16, {10}));
  w.set_value("a.i16", int_array(ValueType::I16, {-10}));
  w.set_value("a.u64", int_array(ValueType::U64, {11}));
  w.set_value("a.i64", int_array(ValueType::I64, {-11}));
  w.set_value("a.bool", int_array(ValueType::BOOL, {0, 1}));
  Value f64{ValueType::ARRAY, {}, {}};
  f64.array.elem_type = ValueType::F64;
  f64.array.floats = {3.0};
  w.set_value("a.f64", f64);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  try {
    {  // header only
      Writer w;
      save(dir, "empty", w.to_bytes());
    }
    {  // every value type, no tensors
      Writer w;
      all_value_types(w);
      save(dir, "values", w.to_bytes());
    }
    // One file per tensor type, one block row (plus a 2-D and a 4-D shape).
    std::deque<std::vector<uint8_t>> keep;  // payloads must outlive to_bytes(); deque never moves them
    for (uint32_t id = 0; id < 64; ++id) {
      const TypeSize* ts = find_type_size(id);
      if (ts == nullptr) continue;
      Writer w;
      w.set_string("general.architecture", "llama");
      keep.push_back(payload(ts->block_bytes * 2, static_cast<uint8_t>(id)));
      w.add_tensor("w", {ts->block_size, 2}, ts->type, keep.back().data(), keep.back().size());
      keep.push_back(payload(ts->block_bytes, static_cast<uint8_t>(id + 1)));
      w.add_tensor("v", {ts->block_size, 1, 1, 1}, ts->type, keep.back().data(), keep.back().size());
      save(dir, "tensor_" + std::string(ts->name), w.to_bytes());
    }
    {  // non-default alignment, several tensors, mixed metadata
      Writer w;
      w.set_u32("general.alignment", 64);
      all_value_types(w);
      keep.push_back(payload(16, 1));
      w.add_tensor("a", {4}, DType::F32, keep.back().data(), 16);
      w.add_tensor("empty", {0, 3}, DType::F16, nullptr, 0);
      keep.push_back(payload(34, 2));
      w.add_tensor("c", {32}, DType::Q8_0, keep.back().data(), 34);
      save(dir, "align64", w.to_bytes());
    }
    {  // version 2 header (same layout as v3)
      Writer w;
      w.set_string("general.name", "v2");
      keep.push_back(payload(8, 3));
      w.add_tensor("t", {4}, DType::F16, keep.back().data(), 8);
      std::vector<uint8_t> b = w.to_bytes();
      const uint32_t v2 = 2;
      std::memcpy(b.data() + 4, &v2, sizeof v2);
      save(dir, "version2", b);
    }
    {  // a tiny tokenizer: tokens, scores, types, merges
      Writer w;
      w.set_string("tokenizer.ggml.model", "llama");
      std::vector<std::string> tokens;
      std::vector<float> scores;
      std::vector<int32_t> types;
      for (int i = 0; i < 64; ++i) {
        tokens.push_back("tok" + std::to_string(i));
        scores.push_back(-static_cast<float>(i));
        types.push_back(i < 3 ? 3 : 1);
      }
      w.set_array_strings("tokenizer.ggml.tokens", tokens);
      w.set_array_f32("tokenizer.ggml.scores", scores);
      w.set_array_i32("tokenizer.ggml.token_type", types);
      w.set_array_strings("tokenizer.ggml.merges", {"t o", "to k"});
      w.set_u32("tokenizer.ggml.bos_token_id", 1);
      save(dir, "vocab", w.to_bytes());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_gguf_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
