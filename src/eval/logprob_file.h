// The file `kestrel perplexity --kl-divergence-base F` writes and reads.
//
// It stores, for every scored token of a perplexity run, the base model's
// log-probabilities over the whole vocabulary, quantized to 16 bits per
// entry (as llama.cpp does; a 32K vocabulary costs 64 KiB per token).
// Layout (little-endian):
//   magic "KSTLPRB1" (8 bytes)
//   u32 version = 1, u32 n_vocab, u32 n_ctx, u32 n_chunks, u32 n_scored_per_chunk
//   u64 n_tokens, then n_tokens i32 token ids (the whole tokenized text, so a
//       run on another model can check it scores the same tokens)
//   then n_chunks * n_scored_per_chunk records, each:
//       f32 lo, f32 step, n_vocab u16 q   with  logprob[i] = lo + step * q[i]
// lo is clamped to at most 30 below the largest log-prob: anything smaller
// carries no measurable probability (e^-30 ≈ 1e-13).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "tokenizer/tokenizer.h"

namespace kestrel {

struct LogprobFileHeader {
  uint32_t n_vocab = 0;
  uint32_t n_ctx = 0;
  uint32_t n_chunks = 0;
  uint32_t n_scored_per_chunk = 0;
  std::vector<TokenId> tokens;
};

class LogprobWriter {
 public:
  // Writes to a unique PATH.XXXXXX.tmp (core/file_io.h); commit() renames
  // it to PATH. Destroying an uncommitted writer (an error, an interrupt)
  // removes the temporary file.
  LogprobWriter(const std::string& path, const LogprobFileHeader& header);
  ~LogprobWriter();
  // Appends one record from a row of n_vocab logits (log-softmax taken here).
  void append(const float* logits);
  void commit();

 private:
  std::unique_ptr<TempFile> tmp_;
  uint32_t n_vocab_;
  std::vector<uint16_t> q_;
  std::vector<double> lp_;
};

class LogprobReader {
 public:
  explicit LogprobReader(const std::string& path);  // throws kestrel::Error
  const LogprobFileHeader& header() const { return header_; }
  size_t n_records() const { return n_records_; }
  // Dequantized, renormalized log-probs of record i (n_vocab values).
  void record(size_t i, std::vector<double>& out) const;

 private:
  LogprobFileHeader header_;
  std::vector<uint8_t> data_;
  size_t records_offset_ = 0;
  size_t n_records_ = 0;
};

// log-softmax of n logits in double.
void log_softmax(const float* logits, int64_t n, std::vector<double>& out);

}  // namespace kestrel
