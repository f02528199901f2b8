// llama-perplexity's method, plus KL divergence against a saved base
// (perplexity.h).
#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/interrupt.h"
#include "eval/logprob_file.h"

namespace kestrel {

void perplexity_from_nll(std::span<const double> nll, double& ppl, double& err) {
  const auto n = static_cast<double>(nll.size());
  double s = 0, s2 = 0;
  for (double v : nll) s += v, s2 += v * v;
  const double mean = s / n;
  ppl = std::exp(mean);
  // llama.cpp: stderr of the mean nll, propagated through exp.
  const double var = s2 / n - mean * mean;
  err = nll.size() > 1 && var > 0 ? ppl * std::sqrt(var / (n - 1)) : 0.0;
}

namespace {

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

int64_t count_chunks(size_t n_tokens, int64_t n_ctx, int64_t max_chunks, const std::string& tool) {
  if (n_ctx < 4) throw Error(tool + ": the context must be at least 4 tokens");
  int64_t n_chunks = static_cast<int64_t>(n_tokens) / n_ctx;
  if (n_chunks == 0) {
    throw Error(tool + ": the text has " + std::to_string(n_tokens) + " tokens, fewer than one chunk of " +
                std::to_string(n_ctx) + " (use a longer text or a smaller -c)");
  }
  return max_chunks > 0 ? std::min(n_chunks, max_chunks) : n_chunks;
}

PerplexityResult evaluate_perplexity(const Model& model, std::span<const TokenId> tokens,
                                     const PerplexityOptions& opt) {
  const int64_t n_ctx = opt.n_ctx;
  const int64_t n_chunks = count_chunks(tokens.size(), n_ctx, opt.n_chunks, "perplexity");
  const int64_t first = n_ctx / 2;
  const int64_t per_chunk = n_ctx - 1 - first;
  const auto n_vocab = static_cast<uint32_t>(model.config().n_vocab);
  const Tokenizer& tok = model.tokenizer();

  std::unique_ptr<LogprobWriter> writer;
  std::unique_ptr<LogprobReader> base;
  LogprobFileHeader hdr;
  hdr.n_vocab = n_vocab;
  hdr.n_ctx = static_cast<uint32_t>(n_ctx);
  hdr.n_chunks = static_cast<uint32_t>(n_chunks);
  hdr.n_scored_per_chunk = static_cast<uint32_t>(per_chunk);
  hdr.tokens.assign(tokens.begin(), tokens.end());
  if (!opt.save_base.empty()) writer = std::make_unique<LogprobWriter>(opt.save_base, hdr);
  if (!opt.compare_base.empty()) {
    base = std::make_unique<LogprobReader>(opt.compare_base);
    const auto& b = base->header();
    if (b.n_vocab != n_vocab) {
      throw Error("KLD base " + opt.compare_base + " has a vocabulary of " + std::to_string(b.n_vocab) +
                  " tokens but the model has " + std::to_string(n_vocab));
    }
    if (b.n_ctx != hdr.n_ctx) {
      throw Error("KLD base was made with -c " + std::to_string(b.n_ctx) + ", this run uses -c " + std::to_string(n_ctx));
    }
    if (b.tokens != hdr.tokens) {
      throw Error("KLD base was made from a different text or tokenization (" + std::to_string(b.tokens.size()) +
                  " tokens there, " + std::to_string(tokens.size()) + " here)");
    }
    if (b.n_chunks < n_chunks) {
      throw Error("KLD base holds " + std::to_string(b.n_chunks) + " chunks, this run needs " + std::to_string(n_chunks));
    }
  }

  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.allow_beyond_trained = true;  // `kestrel perplexity` warns, as llama-perplexity does
  cp.n_threads = opt.n_threads;
  cp.path = opt.path;
  cp.n_batch = opt.n_batch > 0 ? opt.n_batch : n_ctx;
  Context ctx(model, cp);

  PerplexityResult res;
  res.n_chunks = n_chunks;
  std::vector<TokenId> chunk(static_cast<size_t>(n_ctx));
  std::vector<double> lp, lp_base, kld;
  std::vector<double> nll_base;
  int64_t agree = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (tok.add_bos() && tok.bos() >= 0) chunk[0] = tok.bos();
    // A signal stops the run between chunks; the KLD base's temporary file
    // goes with the writer. "chunk" (KESTREL_PAUSE_AT) is the second chunk:
    // one is scored and, when saving a base, written.
    checkpoint(c == 1 ? "chunk" : nullptr);
    ctx.clear();
    ctx.decode(chunk, true);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = ctx.logits(j);
      const TokenId next = chunk[static_cast<size_t>(j + 1)];
      log_softmax(row, n_vocab, lp);
      res.nll.push_back(-lp[static_cast<size_t>(next)]);
      if (writer) writer->append(row);
      if (base) {
        base->record(static_cast<size_t>(c * per_chunk + (j - first)), lp_base);
        double k = 0;
        for (uint32_t i = 0; i < n_vocab; ++i) k += std::exp(lp_base[i]) * (lp_base[i] - lp[i]);
        kld.push_back(std::max(k, 0.0));
        nll_base.push_back(-lp_base[static_cast<size_t>(next)]);
        const auto am = [](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
        agree += am(lp) == am(lp_base);
      }
    }
    if (opt.on_chunk) {
      double ppl, err;
      perplexity_from_nll(res.nll, ppl, err);
      opt.on_chunk(c, n_chunks, ppl);
    }
  }
  if (writer) writer->commit();
  res.n_scored = static_cast<int64_t>(res.nll.size());
  perplexity_from_nll(res.nll, res.ppl, res.ppl_err);
  if (base) {
    KldReport& r = res.kld;
    res.has_kld = true;
    r.n = static_cast<int64_t>(kld.size());
    double s = 0, s2 = 0;
    for (double v : kld) s += v, s2 += v * v;
    r.mean = s / static_cast<double>(r.n);
    const double var = s2 / static_cast<double>(r.n) - r.mean * r.mean;
    r.mean_err = r.n > 1 && var > 0 ? std::sqrt(var / static_cast<double>(r.n - 1)) : 0.0;
    std::sort(kld.begin(), kld.end());
    r.median = percentile(kld, 0.5);
    r.p99 = percentile(kld, 0.99);
    r.p999 = percentile(kld, 0.999);
    r.max = kld.back();
    r.top1_agree = static_cast<double>(agree) / static_cast<double>(r.n);
    perplexity_from_nll(nll_base, r.ppl_base, r.ppl_base_err);
    r.ppl_ratio = res.ppl / r.ppl_base;
    r.ppl_diff = res.ppl - r.ppl_base;
  }
  return res;
}

}  // namespace kestrel
