// Every key the model loader reads, corrupted one at a time in an otherwise
// valid tiny model (NaN, negative, zero, huge, wrong type): the load must
// fail with an error naming that key (and the value), or, where llama.cpp
// gives the value a meaning (a rope scaling factor of 0 is "unset", an
// out-of-range special token id is ignored with a warning), load with it.
// Then the consistency checks between keys and tensor shapes, each naming
// the key that is wrong rather than some tensor it implies.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "core/error.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "models/model.h"
#include "models/synth.h"

namespace kestrel {
namespace {

namespace fs = std::filesystem;
using gguf::Writer;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("kestrel_keys_" + std::to_string(::getpid()) + "_" + name)).string();
}

// The valid base: synth's tiny llama (256 wide, 2 blocks, 8 heads, 4 KV
// heads, 768 feed-forward, 512 tokens), F32 so loading is instant.
const std::string& base_model() {
  static const std::string path = [] {
    const std::string p = temp_path("base.gguf");
    SynthOptions opt;
    opt.shape = find_synth_shape("tiny");
    opt.file_type = find_file_type("F32");
    opt.n_threads = 1;
    write_synthetic_model(opt, p);
    return p;
  }();
  return path;
}

// Writes `w` as edited.gguf and loads it; the error message, or "" when it loaded.
std::string load_written(const Writer& w) {
  const std::string path = temp_path("edited.gguf");
  w.write_file(path);
  std::string msg;
  try {
    Model::load(path, 1);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove(path);
  return msg;
}

// The base with `edit` applied to a copy of its keys, loaded.
std::string load_error(const std::function<void(Writer&)>& edit) {
  const auto base = gguf::Reader::open(base_model());
  Writer w;
  w.copy_from(*base);
  edit(w);
  return load_written(w);
}

enum class Kind { Int, Float, String, Bool, Array };

struct Corruption {
  const char* name;
  const char* value_text;  // what the message shows ("" : only the key and "has type")
  std::function<void(Writer&, const std::string&)> apply;
};

// The five corruptions for a key of `kind`.
std::vector<Corruption> corruptions(Kind kind) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Corruption> v;
  const bool numeric = kind == Kind::Int || kind == Kind::Float;
  if (numeric) {
    v.push_back({"nan", kind == Kind::Int ? "" : "nan", [nan](Writer& w, const std::string& k) { w.set_f32(k, nan); }});
    if (kind == Kind::Int) {
      v.push_back({"negative", "-1", [](Writer& w, const std::string& k) { w.set_i32(k, -1); }});
      v.push_back({"zero", "0", [](Writer& w, const std::string& k) { w.set_u32(k, 0); }});
      v.push_back({"huge", "1099511627776", [](Writer& w, const std::string& k) { w.set_u64(k, uint64_t{1} << 40); }});
      v.push_back({"huge_u64", "18446744073709551615", [](Writer& w, const std::string& k) { w.set_u64(k, ~uint64_t{0}); }});
    } else {
      v.push_back({"negative", "-1", [](Writer& w, const std::string& k) { w.set_f32(k, -1.0f); }});
      v.push_back({"zero", "0", [](Writer& w, const std::string& k) { w.set_f32(k, 0.0f); }});
      v.push_back({"huge", "1.00000002e+30", [](Writer& w, const std::string& k) { w.set_f32(k, 1e30f); }});
      v.push_back({"inf", "inf", [](Writer& w, const std::string& k) { w.set_f32(k, INFINITY); }});
    }
    v.push_back({"string", "", [](Writer& w, const std::string& k) { w.set_string(k, "abc"); }});
  } else if (kind == Kind::String) {
    v.push_back({"u32", "", [](Writer& w, const std::string& k) { w.set_u32(k, 7); }});
  } else if (kind == Kind::Bool) {
    v.push_back({"string", "", [](Writer& w, const std::string& k) { w.set_string(k, "yes"); }});
  } else {
    v.push_back({"u32", "", [](Writer& w, const std::string& k) { w.set_u32(k, 7); }});
  }
  return v;
}

struct KeyCase {
  std::string key;
  Kind kind;
  std::vector<std::string> loads_with;  // corruptions that are valid values for this key
  std::function<void(Writer&)> setup;   // keys another key needs (none when null)
};

std::vector<KeyCase> key_cases() {
  auto linear = [](Writer& w) { w.set_string("llama.rope.scaling.type", "linear"); };
  // Out-of-range special token ids are ignored with a warning, as llama.cpp does; 0 is a valid id.
  const std::vector<std::string> id_ok = {"negative", "zero", "huge"};  // 2^64-1 does not fit int64: an error
  return {
      {"general.architecture", Kind::String, {}, nullptr},
      {"general.name", Kind::String, {}, nullptr},
      {"llama.context_length", Kind::Int, {}, nullptr},
      {"llama.embedding_length", Kind::Int, {}, nullptr},
      {"llama.block_count", Kind::Int, {}, nullptr},
      {"llama.feed_forward_length", Kind::Int, {}, nullptr},
      {"llama.attention.head_count", Kind::Int, {}, nullptr},
      {"llama.attention.head_count_kv", Kind::Int, {}, nullptr},
      {"llama.attention.key_length", Kind::Int, {}, nullptr},
      {"llama.attention.value_length", Kind::Int, {}, nullptr},
      {"llama.attention.layer_norm_rms_epsilon", Kind::Float, {}, nullptr},
      {"llama.rope.dimension_count", Kind::Int, {}, nullptr},
      {"llama.rope.freq_base", Kind::Float, {}, nullptr},
      {"llama.rope.scaling.type", Kind::String, {}, nullptr},
      {"llama.rope.scaling.factor", Kind::Float, {"zero"}, linear},  // 0: unset (llama.cpp)
      {"llama.vocab_size", Kind::Int, {}, nullptr},
      {"tokenizer.ggml.model", Kind::String, {}, nullptr},
      {"tokenizer.ggml.pre", Kind::String, {}, nullptr},
      {"tokenizer.ggml.tokens", Kind::Array, {}, nullptr},
      {"tokenizer.ggml.scores", Kind::Array, {}, nullptr},
      {"tokenizer.ggml.token_type", Kind::Array, {}, nullptr},
      {"tokenizer.ggml.bos_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.eos_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.unknown_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.eot_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.eom_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.seperator_token_id", Kind::Int, id_ok, nullptr},  // sic: llama.cpp's spelling
      {"tokenizer.ggml.padding_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.mask_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_pre_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_suf_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_mid_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_pad_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_rep_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.fim_sep_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.prefix_token_id", Kind::Int, id_ok, nullptr},  // deprecated FIM spellings
      {"tokenizer.ggml.suffix_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.middle_token_id", Kind::Int, id_ok, nullptr},
      {"tokenizer.ggml.add_bos_token", Kind::Bool, {}, nullptr},
      {"tokenizer.ggml.add_eos_token", Kind::Bool, {}, nullptr},
      {"tokenizer.ggml.add_space_prefix", Kind::Bool, {}, nullptr},
  };
}

TEST(ModelKeys, TheBaseModelLoads) {
  EXPECT_EQ(load_error([](Writer&) {}), "");
  // The optional keys at their valid values load too (the table adds them).
  EXPECT_EQ(load_error([](Writer& w) {
              w.set_u32("llama.attention.key_length", 32);
              w.set_u32("llama.attention.value_length", 32);
              w.set_string("llama.rope.scaling.type", "linear");
              w.set_f32("llama.rope.scaling.factor", 2.0f);
            }),
            "");
}

TEST(ModelKeys, EverySingleKeyCorruptionIsNamed) {
  int n_cases = 0;
  for (const KeyCase& kc : key_cases()) {
    for (const Corruption& c : corruptions(kc.kind)) {
      ++n_cases;
      const std::string msg = load_error([&](Writer& w) {
        if (kc.setup) kc.setup(w);
        c.apply(w, kc.key);
      });
      const bool valid = std::find(kc.loads_with.begin(), kc.loads_with.end(), c.name) != kc.loads_with.end();
      SCOPED_TRACE(kc.key + " made " + c.name);
      if (valid) {
        EXPECT_EQ(msg, "");
        continue;
      }
      ASSERT_NE(msg, "") << "loaded";
      EXPECT_NE(msg.find(kc.key), std::string::npos) << msg;
      if (*c.value_text) {
        EXPECT_NE(msg.find(c.value_text), std::string::npos) << msg;
      } else {
        EXPECT_TRUE(msg.find("has type") != std::string::npos || msg.find("not supported") != std::string::npos)
            << msg;
      }
    }
  }
  EXPECT_GT(n_cases, 180);
}

TEST(ModelKeys, StringValuesTheLoaderCannotUse) {
  const std::string arch = load_error([](Writer& w) { w.set_string("general.architecture", "gpt-9"); });
  EXPECT_NE(arch.find("unsupported architecture 'gpt-9' (general.architecture"), std::string::npos) << arch;
  const std::string rope = load_error([](Writer& w) { w.set_string("llama.rope.scaling.type", "yarn"); });
  EXPECT_NE(rope.find("llama.rope.scaling.type = \"yarn\": not supported"), std::string::npos) << rope;
  const std::string model = load_error([](Writer& w) { w.set_string("tokenizer.ggml.model", "abc"); });
  EXPECT_NE(model.find("tokenizer.ggml.model 'abc'"), std::string::npos) << model;
  EXPECT_EQ(model.rfind(temp_path("edited.gguf"), 0), 0u) << "tokenizer errors name the file: " << model;
}

TEST(ModelKeys, NanInAnArrayIsNamedWithItsIndex) {
  const std::string msg = load_error([](Writer& w) {
    std::vector<float> scores(512, -1.0f);
    scores[300] = std::numeric_limits<float>::quiet_NaN();
    w.set_array_f32("tokenizer.ggml.scores", scores);
  });
  EXPECT_NE(msg.find("tokenizer.ggml.scores[300] = nan"), std::string::npos) << msg;
}

TEST(ModelKeys, ExactMessagesForTheIssueExamples) {
  const std::string base = temp_path("edited.gguf");
  EXPECT_EQ(load_error([](Writer& w) { w.set_f32("llama.attention.layer_norm_rms_epsilon", -1e-5f); }),
            base + ": llama.attention.layer_norm_rms_epsilon = -9.99999975e-06: must be a finite number in (0, 1]");
  EXPECT_EQ(load_error([](Writer& w) { w.set_f32("llama.rope.freq_base", 0.0f); }),
            base + ": llama.rope.freq_base = 0: must be a finite number in (0, 1e+15]");
  EXPECT_EQ(load_error([](Writer& w) { w.set_string("llama.block_count", "two"); }),
            base + ": llama.block_count has type string (\"two\"), expected an integer");
}

// Values in range that contradict another key or the tensors.
TEST(ModelKeys, InconsistentValuesNameTheKey) {
  struct Case {
    std::function<void(Writer&)> edit;
    std::string expect;
  };
  // One key set to one value (u32 unless a float is given).
  auto u32 = [](const char* key, uint32_t v) { return [=](Writer& w) { w.set_u32(key, v); }; };
  const std::vector<Case> cases = {
      {u32("llama.block_count", 3), "llama.block_count = 3: the file holds tensors for 2 blocks"},
      {u32("llama.embedding_length", 128), "llama.embedding_length = 128: token_embd.weight has rows of 256"},
      {u32("llama.feed_forward_length", 512), "llama.feed_forward_length = 512: blk.0.ffn_up.weight has 768 outputs"},
      {u32("llama.attention.head_count", 3), "llama.attention.head_count = 3: must divide embedding_length (256)"},
      {u32("llama.attention.head_count_kv", 3),
       "llama.attention.head_count_kv = 3: must divide attention.head_count (8)"},
      {u32("llama.attention.head_count_kv", 2),
       "llama.attention.head_count_kv = 2: head_count_kv x head size = 64 but blk.0.attn_k.weight has 128 outputs"},
      {u32("llama.attention.head_count_kv", 16), "llama.attention.head_count_kv = 16: out of range [1, 8]"},
      {u32("llama.attention.key_length", 16),
       "llama.attention.key_length = 16: head_count x head size = 128 but blk.0.attn_q.weight has 256 outputs"},
      {u32("llama.attention.value_length", 16), "llama.attention.value_length = 16: must equal the key length (32)"},
      {u32("llama.rope.dimension_count", 31), "llama.rope.dimension_count = 31: must be even"},
      {u32("llama.rope.dimension_count", 64), "llama.rope.dimension_count = 64: out of range [1, 32]"},
      {u32("llama.vocab_size", 100), "llama.vocab_size = 100: token_embd.weight has 512 rows"},
      {[](Writer& w) { w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-40f); },
       "llama.attention.layer_norm_rms_epsilon = 9.9999461e-41: too small for f32"},
  };
  for (const Case& c : cases) {
    const std::string msg = load_error(c.edit);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected: " << c.expect << "\ngot: " << msg;
  }
}

TEST(ModelKeys, LinearRopeScalingSetsTheFrequencyScale) {
  const auto base = gguf::Reader::open(base_model());
  Writer w;
  w.copy_from(*base);
  w.set_string("llama.rope.scaling.type", "linear");
  w.set_f32("llama.rope.scaling.factor", 4.0f);
  const std::string path = temp_path("linear.gguf");
  w.write_file(path);
  EXPECT_FLOAT_EQ(Model::load(path, 1)->config().rope_freq_scale, 0.25f);
  fs::remove(path);
}

// Small f32 vectors are checked for NaN/inf; RoPE factors must be positive.
TEST(ModelKeys, NonFiniteNormAndBadRopeFactorsAreNamed) {
  const auto base = gguf::Reader::open(base_model());
  auto rewrite = [&](const std::string& name, const std::vector<float>& data, const std::vector<int64_t>& ne) {
    Writer w;
    for (const auto& kv : base->metadata()) w.set_value(kv.key, kv.value);
    for (const auto& t : base->tensors()) {
      if (t.name != name) w.add_tensor(t.name, t.ne, t.type, base->tensor_data(t), t.nbytes);
    }
    w.add_tensor(name, ne, DType::F32, data.data(), data.size() * sizeof(float));
    return load_written(w);
  };
  std::vector<float> norm(256, 1.0f);
  norm[7] = std::numeric_limits<float>::infinity();
  const std::string a = rewrite("blk.1.ffn_norm.weight", norm, {256});
  EXPECT_NE(a.find("tensor 'blk.1.ffn_norm.weight' holds a non-finite value (inf) at index 7"), std::string::npos) << a;
  std::vector<float> factors(16, 1.0f);
  factors[3] = 0.0f;
  const std::string b = rewrite("rope_freqs.weight", factors, {16});
  EXPECT_NE(b.find("rope_freqs.weight[3] = 0.000000: RoPE factors must be positive"), std::string::npos) << b;
  const std::string c = rewrite("rope_freqs.weight", std::vector<float>(8, 1.0f), {8});
  EXPECT_NE(c.find("llama.rope.dimension_count = 32: rope_freqs.weight has 8 factors"), std::string::npos) << c;
}

}  // namespace
}  // namespace kestrel
