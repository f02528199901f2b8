// Model loading: GGUF keys -> ModelConfig, tensors -> weight views (model.h).
#include "models/model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/thread_pool.h"
#include "models/quant_policy.h"

namespace kestrel {
namespace {

std::string shape_str(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, int n_threads) {
  std::unique_ptr<Model> m(new Model());
  m->reader_ = gguf::Reader::open(path);
  m->load_config();
  try {
    m->tokenizer_ = Tokenizer::from_gguf(*m->reader_);
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(path, 0) == 0 ? what : path + ": " + what);  // name the file once
  }
  m->check_vocab_size();
  m->load_weights();
  m->pack_weights(n_threads > 0 ? n_threads : default_thread_count());
  return m;
}

const float* Model::f32_vector(const std::string& name, int64_t n, bool required) {
  const gguf::TensorInfo* t = reader_->find_tensor(name);
  if (!t) {
    if (required) throw Error(reader_->path() + ": missing tensor '" + name + "'");
    return nullptr;
  }
  if (t->n_elements() != n) {
    throw Error(reader_->path() + ": tensor '" + name + "' has shape " + shape_str(t->ne) +
                ", expected " + std::to_string(n) + " elements");
  }
  const float* v = nullptr;
  if (t->type == DType::F32) {
    v = reinterpret_cast<const float*>(reader_->tensor_data(*t));
  } else {
    owned_.emplace_back(static_cast<size_t>(n));
    type_traits(t->type).to_float(reader_->tensor_data(*t), owned_.back().data(), n);
    v = owned_.back().data();
  }
  // Norm weights, biases and RoPE factors are small; one NaN among them
  // would turn every logit into NaN, so they are checked here.
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) {
      throw Error(reader_->path() + ": tensor '" + name + "' holds a non-finite value (" + std::to_string(v[i]) +
                  ") at index " + std::to_string(i));
    }
  }
  return v;
}

WeightMatrix Model::matrix(const std::string& name, int64_t n_in, int64_t n_out, bool required) {
  const gguf::TensorInfo* t = reader_->find_tensor(name);
  if (!t) {
    if (required) throw Error(reader_->path() + ": missing tensor '" + name + "'");
    return {};
  }
  if (t->ne.size() != 2 || t->ne[0] != n_in || t->ne[1] != n_out) {
    throw Error(reader_->path() + ": tensor '" + name + "' has shape " + shape_str(t->ne) +
                ", expected [" + std::to_string(n_in) + ", " + std::to_string(n_out) + "]");
  }
  const TypeTraits& tt = type_traits(t->type);
  if (!tt.vec_dot_ref) {
    throw Error(reader_->path() + ": tensor '" + name + "' has type " + std::string(tt.name) +
                ", which cannot be used as a weight matrix");
  }
  return WeightMatrix{&tt, reader_->tensor_data(*t), n_in, n_out, t->name};
}

void Model::load_weights() {
  ModelConfig& c = config_;
  ModelWeights& w = weights_;
  const gguf::TensorInfo* emb = reader_->find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) throw Error(reader_->path() + ": missing or malformed token_embd.weight");
  c.n_vocab = emb->ne[1];
  if (c.n_vocab != tokenizer_->n_vocab()) {
    throw Error(reader_->path() + ": token_embd has " + std::to_string(c.n_vocab) +
                " rows but the vocabulary has " + std::to_string(tokenizer_->n_vocab()) + " tokens");
  }
  w.tok_embd = matrix("token_embd.weight", c.n_embd, c.n_vocab, true);
  w.output_norm = f32_vector("output_norm.weight", c.n_embd, true);
  w.output = matrix("output.weight", c.n_embd, c.n_vocab, false);
  if (!w.output.data) w.output = w.tok_embd;  // tied embeddings
  w.rope_freqs = f32_vector("rope_freqs.weight", c.n_rot / 2, false);
  for (int64_t i = 0; w.rope_freqs && i < c.n_rot / 2; ++i) {
    if (!(w.rope_freqs[i] > 0.0f)) {  // RoPE divides by these factors
      throw Error(reader_->path() + ": rope_freqs.weight[" + std::to_string(i) + "] = " +
                  std::to_string(w.rope_freqs[i]) + ": RoPE factors must be positive");
    }
  }
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    LayerWeights& L = w.layers[static_cast<size_t>(i)];
    const std::string b = "blk." + std::to_string(i) + ".";
    L.attn_norm = f32_vector(b + "attn_norm.weight", c.n_embd, true);
    L.wq = matrix(b + "attn_q.weight", c.n_embd, c.q_dim(), true);
    L.wk = matrix(b + "attn_k.weight", c.n_embd, c.kv_dim(), true);
    L.wv = matrix(b + "attn_v.weight", c.n_embd, c.kv_dim(), true);
    L.wo = matrix(b + "attn_output.weight", c.q_dim(), c.n_embd, true);
    L.bq = f32_vector(b + "attn_q.bias", c.q_dim(), c.qkv_bias);
    L.bk = f32_vector(b + "attn_k.bias", c.kv_dim(), c.qkv_bias);
    L.bv = f32_vector(b + "attn_v.bias", c.kv_dim(), c.qkv_bias);
    L.ffn_norm = f32_vector(b + "ffn_norm.weight", c.n_embd, true);
    L.w_gate = matrix(b + "ffn_gate.weight", c.n_embd, c.n_ff, true);
    L.w_up = matrix(b + "ffn_up.weight", c.n_embd, c.n_ff, true);
    L.w_down = matrix(b + "ffn_down.weight", c.n_ff, c.n_embd, true);
  }
}

void Model::pack_weights(int n_threads) {
  // Every matrix the forward pass multiplies by (not tok_embd, which is only
  // read row by row; a tied output gets its own packed copy).
  auto pack = [&](WeightMatrix& m) {
    if (PackedBuffer b = pack_weight_matrix(m, n_threads); b.data) {
      // The kernels read the copy now; the file's pages of those rows need
      // not stay resident (without this a model took twice its size).
      reader_->release_pages(m.data, b.bytes);
      packed_.push_back(std::move(b));
    }
  };
  for (LayerWeights& L : weights_.layers) {
    for (WeightMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) pack(*m);
  }
  pack(weights_.output);
}

uint64_t Model::n_params() const {
  uint64_t n = 0;
  for (const auto& t : reader_->tensors()) n += static_cast<uint64_t>(t.n_elements());
  return n;
}

uint64_t Model::file_bytes() const {
  uint64_t n = 0;
  for (const auto& t : reader_->tensors()) n += t.nbytes;
  return n;
}

std::string Model::type_label() const {
  // llama.cpp's file type names the mix ("Q4_K_M", "Q2_K"), as llama-bench
  // shows it; without one, the type with the most bytes among 2-D tensors
  // ("Q4_0" for a Q4_0 mix whose output is Q6_K).
  std::optional<int64_t> ft;
  try {
    ft = reader_->get_int("general.file_type");
  } catch (const Error&) {  // a key of another type only loses the label
  }
  if (ft && *ft >= 0 && *ft <= 0xffffffffLL) {
    if (const FileTypeInfo* info = find_file_type(static_cast<FileType>(*ft))) return std::string(info->name);
  }
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : reader_->tensors()) {
    if (t.ne.size() == 2) bytes[std::string(type_traits(t.type).name)] += t.nbytes;
  }
  std::string best;
  uint64_t most = 0;
  for (const auto& [name, n] : bytes) {
    if (n > most) most = n, best = name;
  }
  for (auto& ch : best) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return best;
}

}  // namespace kestrel
