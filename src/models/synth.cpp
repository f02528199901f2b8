// Synthetic model generation (synth.h).
#include "models/synth.h"

#include <array>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/thread_pool.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

constexpr std::array<SynthShape, 5> kShapes{{
    // name, arch, vocab, embd, layers, heads, kv heads, ffn, ctx, rope base, eps, tied, llama3 rope
    {"tiny", "llama", 512, 256, 2, 8, 4, 768, 2048, 10000.0f, 1e-5f, true, false},
    {"llama-3.2-1b", "llama", 128256, 2048, 16, 32, 8, 8192, 131072, 500000.0f, 1e-5f, true, true},
    {"qwen2.5-0.5b", "qwen2", 151936, 896, 24, 14, 2, 4864, 32768, 1000000.0f, 1e-6f, true, false},
    {"tinyllama-1.1b", "llama", 32000, 2048, 22, 32, 4, 5632, 2048, 10000.0f, 1e-5f, false, false},
    {"llama-2-7b", "llama", 32000, 4096, 32, 32, 32, 11008, 4096, 10000.0f, 1e-5f, false, false},
}};

// SplitMix64: a tiny, well-mixed generator so every tensor (and row) can be
// seeded independently and generated in parallel, reproducibly.
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Approximately normal values (sum of four uniforms, unit variance) times std.
void fill_random(float* dst, int64_t n, uint64_t seed, float stddev) {
  uint64_t s = seed;
  const float k = stddev * std::sqrt(3.0f) / 2.0f;  // var(sum of 4 U(-1,1)) = 4/3
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix(s);
    float acc = 0.0f;
    for (int j = 0; j < 4; ++j) acc += static_cast<float>((r >> (16 * j)) & 0xffff) / 32767.5f - 1.0f;
    dst[i] = acc * k;
  }
}

// Llama-3.1 frequency factors for original context 8192, factor 32.
std::vector<float> llama3_rope_factors(int n_rot, float base) {
  const double factor = 32.0, low = 1.0, high = 4.0, orig = 8192.0;
  const double low_wavelen = orig / low, high_wavelen = orig / high;
  std::vector<float> out(static_cast<size_t>(n_rot / 2));
  for (int i = 0; i < n_rot / 2; ++i) {
    const double freq = 1.0 / std::pow(base, 2.0 * i / n_rot);
    const double wavelen = 2.0 * M_PI / freq;
    double f = 1.0;
    if (wavelen > low_wavelen) {
      f = factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (orig / wavelen - low) / (high - low);
      f = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    out[static_cast<size_t>(i)] = static_cast<float>(f);
  }
  return out;
}

void generate_vocab(gguf::Writer& w, int64_t n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.emplace_back(buf);
    types.push_back(6);
  }
  // Synthetic pieces: letter strings, every other one with the SentencePiece
  // word-start marker, in order of length so merges can build them.
  const std::string marker = "\xe2\x96\x81";  // U+2581
  for (uint64_t k = 0; static_cast<int64_t>(tokens.size()) < n_vocab; ++k) {
    std::string word;
    uint64_t v = k / 2;
    do {
      word += static_cast<char>('a' + v % 26);
      v /= 26;
    } while (v > 0);
    tokens.push_back(k % 2 ? word : marker + word);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = i < 259 ? 0.0f : -static_cast<float>(i);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_array_strings("tokenizer.ggml.tokens", tokens);
  w.set_array_f32("tokenizer.ggml.scores", scores);
  w.set_array_i32("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
}

struct PendingTensor {
  std::string name;
  std::vector<int64_t> ne;
  DType type;
  std::vector<uint8_t> bytes;
};

}  // namespace

std::span<const SynthShape> all_synth_shapes() { return kShapes; }

const SynthShape* find_synth_shape(std::string_view name) {
  for (const auto& s : kShapes) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void write_synthetic_model(const SynthOptions& opt, const std::string& path) {
  const SynthShape& s = *opt.shape;
  gguf::Writer w;
  std::unique_ptr<gguf::Reader> vocab;
  int64_t n_vocab = s.n_vocab;
  const std::string a(s.arch);
  w.set_string("general.architecture", a);
  w.set_string("general.name", "kestrel synthetic " + std::string(s.name));
  w.set_u32("general.file_type", static_cast<uint32_t>(opt.file_type->ft));
  w.set_u32("general.quantization_version", 2);
  if (!opt.vocab_path.empty()) {
    vocab = gguf::Reader::open(opt.vocab_path);
    const gguf::Array* toks = vocab->get_array("tokenizer.ggml.tokens");
    if (!toks || toks->strings.empty()) throw Error(opt.vocab_path + ": no tokenizer.ggml.tokens array");
    n_vocab = static_cast<int64_t>(toks->strings.size());
  }
  const int64_t head_dim = s.n_embd / s.n_head;
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  w.set_f32(a + ".rope.freq_base", s.rope_base);
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(head_dim));
  w.set_u32(a + ".vocab_size", static_cast<uint32_t>(n_vocab));
  if (vocab) {
    for (const auto& kv : vocab->metadata()) {
      if (kv.key.rfind("tokenizer.", 0) == 0) w.set_value(kv.key, kv.value);
    }
  } else {
    generate_vocab(w, n_vocab);
  }

  // (name, n_in, n_out or 0 for a vector, stddev or <0 for ones)
  struct Spec { std::string name; int64_t n_in, n_out; float std; };
  std::vector<Spec> specs;
  const int64_t q_dim = s.n_head * head_dim, kv_dim = s.n_head_kv * head_dim;
  specs.push_back({"token_embd.weight", s.n_embd, n_vocab, 1.0f});
  specs.push_back({"output_norm.weight", s.n_embd, 0, -1.0f});
  if (!s.tied) specs.push_back({"output.weight", s.n_embd, n_vocab, 1.0f / std::sqrt(float(s.n_embd))});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const float se = 1.0f / std::sqrt(float(s.n_embd)), sf = 1.0f / std::sqrt(float(s.n_ff));
    specs.push_back({b + "attn_norm.weight", s.n_embd, 0, -1.0f});
    specs.push_back({b + "attn_q.weight", s.n_embd, q_dim, se});
    specs.push_back({b + "attn_k.weight", s.n_embd, kv_dim, se});
    specs.push_back({b + "attn_v.weight", s.n_embd, kv_dim, se});
    if (s.arch == "qwen2") {
      specs.push_back({b + "attn_q.bias", q_dim, 0, 0.1f});
      specs.push_back({b + "attn_k.bias", kv_dim, 0, 0.1f});
      specs.push_back({b + "attn_v.bias", kv_dim, 0, 0.1f});
    }
    specs.push_back({b + "attn_output.weight", q_dim, s.n_embd, 1.0f / std::sqrt(float(q_dim))});
    specs.push_back({b + "ffn_norm.weight", s.n_embd, 0, -1.0f});
    specs.push_back({b + "ffn_gate.weight", s.n_embd, s.n_ff, se});
    specs.push_back({b + "ffn_up.weight", s.n_embd, s.n_ff, se});
    specs.push_back({b + "ffn_down.weight", s.n_ff, s.n_embd, sf});
  }

  ThreadPool pool(opt.n_threads > 0 ? opt.n_threads : default_thread_count());
  std::vector<PendingTensor> out;
  out.reserve(specs.size() + 1);
  if (s.llama3_rope) {
    const auto f = llama3_rope_factors(static_cast<int>(head_dim), s.rope_base);
    PendingTensor t{"rope_freqs.weight", {static_cast<int64_t>(f.size())}, DType::F32, {}};
    t.bytes.resize(f.size() * sizeof(float));
    std::memcpy(t.bytes.data(), f.data(), t.bytes.size());
    out.push_back(std::move(t));
  }
  for (size_t si = 0; si < specs.size(); ++si) {
    checkpoint(si == 1 ? "generate" : nullptr);  // a signal stops here, before anything is written
    const Spec& sp = specs[si];
    const bool matrix = sp.n_out > 0;
    const int64_t rows = matrix ? sp.n_out : 1;
    TensorPlace place;
    place.name = sp.name;
    place.row_length = sp.n_in;
    place.n_dims = matrix ? 2 : 1;
    place.n_layer = static_cast<int>(s.n_layer);
    place.n_gqa = s.n_head / s.n_head_kv;
    place.tied_embeddings = s.tied;
    if (sp.name.rfind("blk.", 0) == 0) place.layer = std::stoi(sp.name.substr(4));
    std::string warning;
    const DType type = tensor_type_for(*opt.file_type, place, DType::F32, opt.pure, &warning);
    if (!warning.empty()) std::fprintf(stderr, "warning: %s: %s\n", sp.name.c_str(), warning.c_str());
    const TypeTraits& tt = type_traits(type);
    PendingTensor t{sp.name, matrix ? std::vector<int64_t>{sp.n_in, sp.n_out} : std::vector<int64_t>{sp.n_in},
                    type, {}};
    const size_t rb = row_bytes(tt, sp.n_in);
    t.bytes.resize(rb * static_cast<size_t>(rows));
    const uint64_t seed = opt.seed * 1000003ull + si;
    pool.run([&](int ith, int nth) {
      std::vector<float> row(static_cast<size_t>(sp.n_in));
      int64_t b, e;
      ThreadPool::split(rows, ith, nth, b, e);
      for (int64_t r = b; r < e; ++r) {
        if (sp.std < 0) std::fill(row.begin(), row.end(), 1.0f);
        else fill_random(row.data(), sp.n_in, seed * 0x100000001b3ull + static_cast<uint64_t>(r), sp.std);
        tt.from_float(row.data(), t.bytes.data() + static_cast<size_t>(r) * rb, sp.n_in);
      }
    });
    if (opt.on_progress) opt.on_progress(si + 1, specs.size(), sp.name);
    out.push_back(std::move(t));
  }
  for (const auto& t : out) w.add_tensor(t.name, t.ne, t.type, t.bytes.data(), t.bytes.size());
  w.write_file(path);
}

}  // namespace kestrel
