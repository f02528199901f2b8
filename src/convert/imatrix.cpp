// Importance matrices: collection, GGUF file I/O, and the command driver
// (imatrix.h).
#include "convert/imatrix.h"
#include "eval/perplexity.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "models/model.h"

namespace kestrel {
namespace {

constexpr std::string_view kSum2Suffix = ".in_sum2";
constexpr std::string_view kSumSuffix = ".in_sum";
constexpr std::string_view kCountsSuffix = ".counts";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The F32 values of a tensor (copied: the mapping gives no alignment promise).
std::vector<float> read_f32(const gguf::Reader& r, const gguf::TensorInfo& t, const std::string& path) {
  if (t.type != DType::F32) {
    throw Error("imatrix " + path + ": tensor " + std::string(t.name) + " must be F32");
  }
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  std::memcpy(v.data(), r.tensor_data(t), v.size() * sizeof(float));
  for (float x : v) {
    if (!std::isfinite(x)) {
      throw Error("imatrix " + path + ": tensor " + std::string(t.name) + " holds a non-finite value");
    }
  }
  return v;
}

// Natural log of the softmax probability of `target` among n logits.
double log_prob(const float* logits, int64_t n, int32_t target) {
  const float mx = *std::max_element(logits, logits + n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(logits[i] - mx));
  return static_cast<double>(logits[target] - mx) - std::log(s);
}

}  // namespace

const ImatrixEntry* ImportanceMatrix::find(std::string_view tensor) const {
  const auto it = entries.find(tensor);
  return it == entries.end() ? nullptr : &it->second;
}

std::vector<float> ImportanceMatrix::mean_squares(std::string_view tensor) const {
  const ImatrixEntry* e = find(tensor);
  if (!e) return {};
  std::vector<float> out(e->sum2.size());
  for (int64_t m = 0; m < e->n_mat(); ++m) {
    const auto c = static_cast<double>(e->counts[static_cast<size_t>(m)]);
    for (int64_t j = 0; j < e->n_cols; ++j) {
      const size_t k = static_cast<size_t>(m * e->n_cols + j);
      out[k] = c > 0 ? static_cast<float>(e->sum2[k] / c) : 1.0f;
    }
  }
  return out;
}

void ImportanceMatrix::write(const std::string& path) const {
  gguf::Writer w;
  w.set_string("general.type", "imatrix");
  w.set_array_strings("imatrix.datasets", datasets);
  w.set_u32("imatrix.chunk_count", chunk_count);
  w.set_u32("imatrix.chunk_size", chunk_size);
  // The writer keeps pointers: all buffers live until write_file returns.
  std::vector<std::vector<float>> bufs;
  bufs.reserve(entries.size() * 3);
  for (const auto& [name, e] : entries) {
    const int64_t n_mat = e.n_mat();
    // ggml drops trailing dimensions of 1, so a single matrix is stored 1-D.
    const std::vector<int64_t> ne_sums = n_mat == 1 ? std::vector<int64_t>{e.n_cols} : std::vector<int64_t>{e.n_cols, n_mat};
    const std::vector<int64_t> ne_counts = n_mat == 1 ? std::vector<int64_t>{1} : std::vector<int64_t>{1, n_mat};
    auto& s2 = bufs.emplace_back(e.sum2.begin(), e.sum2.end());
    w.add_tensor(name + std::string(kSum2Suffix), ne_sums, DType::F32, s2.data(), s2.size() * sizeof(float));
    auto& c = bufs.emplace_back(e.counts.begin(), e.counts.end());
    w.add_tensor(name + std::string(kCountsSuffix), ne_counts, DType::F32, c.data(), c.size() * sizeof(float));
    if (!e.sum.empty()) {
      auto& s1 = bufs.emplace_back(e.sum.begin(), e.sum.end());
      w.add_tensor(name + std::string(kSumSuffix), ne_sums, DType::F32, s1.data(), s1.size() * sizeof(float));
    }
  }
  w.write_file(path);
}

ImportanceMatrix ImportanceMatrix::read(const std::string& path) {
  std::unique_ptr<gguf::Reader> r;
  try {
    r = gguf::Reader::open(path);
  } catch (const Error& e) {
    throw Error("cannot read imatrix '" + path + "': " + e.what());
  }
  ImportanceMatrix im;
  if (const gguf::Array* ds = r->get_array("imatrix.datasets")) {
    for (auto s : ds->strings) im.datasets.emplace_back(s);
  }
  im.chunk_count = static_cast<uint32_t>(r->get_int_or("imatrix.chunk_count", 0));
  im.chunk_size = static_cast<uint32_t>(r->get_int_or("imatrix.chunk_size", 0));

  struct Parts { const gguf::TensorInfo *sum2 = nullptr, *sum = nullptr, *counts = nullptr; };
  std::map<std::string, Parts, std::less<>> parts;
  for (const auto& t : r->tensors()) {
    // ".in_sum" is a suffix of neither ".in_sum2" nor ".counts", so the order of tests is free.
    if (ends_with(t.name, kSum2Suffix)) parts[std::string(t.name.substr(0, t.name.size() - kSum2Suffix.size()))].sum2 = &t;
    else if (ends_with(t.name, kSumSuffix)) parts[std::string(t.name.substr(0, t.name.size() - kSumSuffix.size()))].sum = &t;
    else if (ends_with(t.name, kCountsSuffix)) parts[std::string(t.name.substr(0, t.name.size() - kCountsSuffix.size()))].counts = &t;
  }
  if (parts.empty()) {
    throw Error("'" + path + "' is not an imatrix file (it has no NAME.in_sum2 / NAME.counts tensors)");
  }
  for (const auto& [name, p] : parts) {
    if (!p.sum2 || !p.counts) {
      throw Error("imatrix " + path + ": entry " + name + " lacks its " + (p.sum2 ? "counts" : "in_sum2") + " tensor");
    }
    const std::vector<float> s2 = read_f32(*r, *p.sum2, path), c = read_f32(*r, *p.counts, path);
    if (c.empty() || s2.empty() || s2.size() % c.size() != 0) {
      throw Error("imatrix " + path + ": entry " + name + " has " + std::to_string(s2.size()) + " sums for " +
                  std::to_string(c.size()) + " counts");
    }
    ImatrixEntry e;
    e.n_cols = static_cast<int64_t>(s2.size() / c.size());
    e.sum2.assign(s2.begin(), s2.end());
    for (float x : c) e.counts.push_back(std::max<int64_t>(0, std::lround(x)));
    if (p.sum) {
      const std::vector<float> s1 = read_f32(*r, *p.sum, path);
      if (s1.size() != s2.size()) {
        throw Error("imatrix " + path + ": entry " + name + " has in_sum and in_sum2 of different sizes");
      }
      e.sum.assign(s1.begin(), s1.end());
    }
    im.entries.emplace(name, std::move(e));
  }
  return im;
}

void ImatrixCollector::observe(const WeightMatrix& w, const float* x, int64_t n_tok) {
  if (n_tok < kMinRows) return;
  const bool is_block = w.name.substr(0, 4) == "blk.";
  if (!is_block && !(process_output_ && w.name == "output.weight")) return;
  auto it = im_.entries.find(w.name);
  if (it == im_.entries.end()) {
    ImatrixEntry e;
    e.n_cols = w.n_in;
    e.sum2.assign(static_cast<size_t>(w.n_in), 0.0);
    e.sum.assign(static_cast<size_t>(w.n_in), 0.0);
    e.counts.assign(1, 0);
    it = im_.entries.emplace(std::string(w.name), std::move(e)).first;
  }
  ImatrixEntry& e = it->second;
  if (e.n_cols != w.n_in) {
    throw Error("imatrix: matrix " + std::string(w.name) + " changed its input size");
  }
  const int64_t n = w.n_in;
  for (int64_t t = 0; t < n_tok; ++t) {
    const float* row = x + t * n;
    for (int64_t j = 0; j < n; ++j) {
      const double v = row[j];
      e.sum[static_cast<size_t>(j)] += v;
      e.sum2[static_cast<size_t>(j)] += v * v;
    }
  }
  e.counts[0] += n_tok;
  // llama.cpp stops on a non-finite sum: the imatrix would poison every
  // weight it touches. Checking the running sums once per call is enough.
  for (int64_t j = 0; j < n; ++j) {
    if (!std::isfinite(e.sum2[static_cast<size_t>(j)])) {
      throw Error("imatrix: non-finite activation entering " + std::string(w.name));
    }
  }
}

ImatrixRun compute_imatrix(const Model& model, std::span<const TokenId> tokens, const ImatrixOptions& opt) {
  const int64_t n_ctx = opt.n_ctx;
  const int64_t n_chunks = count_chunks(tokens.size(), n_ctx, opt.n_chunks, "imatrix");
  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_threads = opt.n_threads;
  cp.n_batch = opt.n_batch > 0 ? std::min(opt.n_batch, n_ctx) : n_ctx;
  Context ctx(model, cp);
  ImatrixCollector collector(opt.process_output);
  ctx.set_matmul_observer(&collector);

  const Tokenizer& tok = model.tokenizer();
  const int64_t n_vocab = model.config().n_vocab;
  const int64_t first = n_ctx / 2;
  std::vector<TokenId> chunk(static_cast<size_t>(n_ctx));
  double nll = 0;
  int64_t n_scored = 0;
  ImatrixRun run;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (tok.add_bos() && tok.bos() >= 0) chunk[0] = tok.bos();
    checkpoint(c == 1 ? "chunk" : nullptr);  // a signal stops the run between chunks
    ctx.clear();
    // Logits for every position, as llama-imatrix asks for: output.weight
    // then sees whole chunks, and the perplexity below comes for free.
    ctx.decode(chunk, true);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      nll -= log_prob(ctx.logits(j), n_vocab, chunk[static_cast<size_t>(j + 1)]);
      ++n_scored;
    }
    run.ppl = std::exp(nll / static_cast<double>(n_scored));
    if (opt.on_chunk) opt.on_chunk(c, n_chunks, run.ppl);
  }
  ctx.set_matmul_observer(nullptr);
  run.imatrix = std::move(collector.result());
  run.imatrix.chunk_count = static_cast<uint32_t>(n_chunks);
  run.imatrix.chunk_size = static_cast<uint32_t>(n_ctx);
  if (!opt.dataset.empty()) run.imatrix.datasets.push_back(opt.dataset);
  run.n_tokens = n_chunks * n_ctx;
  return run;
}

ImatrixRun compute_imatrix_file(const std::string& model_path, const std::string& text_path,
                                const std::string& out_path, ImatrixOptions opt) {
  const std::string text = read_text_file(text_path);
  require_writable_output(out_path);  // fail now, not after the whole run
  const auto model = Model::load(model_path, opt.n_threads);
  const std::vector<TokenId> tokens = model->tokenizer().encode(text, true, false);
  if (opt.dataset.empty()) opt.dataset = text_path;
  ImatrixRun run = compute_imatrix(*model, tokens, opt);
  run.imatrix.write(out_path);
  return run;
}

}  // namespace kestrel
