// Quantized log-probability files (logprob_file.h).
#include "eval/logprob_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace kestrel {
namespace {

constexpr char kMagic[8] = {'K', 'S', 'T', 'L', 'P', 'R', 'B', '1'};
constexpr uint32_t kVersion = 1;
constexpr double kRange = 30.0;

void write_all(FILE* f, const void* p, size_t n, const std::string& path) {
  if (std::fwrite(p, 1, n, f) != n) throw Error("error writing '" + path + "': " + std::strerror(errno));
}

}  // namespace

void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = static_cast<double>(logits[i]) - lse;
}

LogprobWriter::LogprobWriter(const std::string& path, const LogprobFileHeader& h)
    : tmp_(std::make_unique<TempFile>(path)), n_vocab_(h.n_vocab), q_(h.n_vocab) {
  FILE* f = tmp_->file();
  write_all(f, kMagic, 8, tmp_->path());
  const uint32_t fields[5] = {kVersion, h.n_vocab, h.n_ctx, h.n_chunks, h.n_scored_per_chunk};
  write_all(f, fields, sizeof fields, tmp_->path());
  const uint64_t n = h.tokens.size();
  write_all(f, &n, sizeof n, tmp_->path());
  write_all(f, h.tokens.data(), h.tokens.size() * sizeof(TokenId), tmp_->path());
}

LogprobWriter::~LogprobWriter() = default;  // an uncommitted TempFile removes itself

void LogprobWriter::append(const float* logits) {
  log_softmax(logits, n_vocab_, lp_);
  const double hi = *std::max_element(lp_.begin(), lp_.end());
  const double lo = std::max(*std::min_element(lp_.begin(), lp_.end()), hi - kRange);
  const double step = hi > lo ? (hi - lo) / 65535.0 : 1.0;
  for (uint32_t i = 0; i < n_vocab_; ++i) {
    const double v = std::clamp((lp_[i] - lo) / step, 0.0, 65535.0);
    q_[i] = static_cast<uint16_t>(std::lround(v));
  }
  const float hdr[2] = {static_cast<float>(lo), static_cast<float>(step)};
  write_all(tmp_->file(), hdr, sizeof hdr, tmp_->path());
  write_all(tmp_->file(), q_.data(), q_.size() * sizeof(uint16_t), tmp_->path());
}

void LogprobWriter::commit() { tmp_->commit(); }

LogprobReader::LogprobReader(const std::string& path) {
  const std::string bytes = read_text_file(path);  // a directory or device is an error naming it
  data_.assign(bytes.begin(), bytes.end());
  const std::string bad = path + " is not a kestrel log-prob file: ";
  if (data_.size() < 8 + 20 + 8 || std::memcmp(data_.data(), kMagic, 8) != 0) throw Error(bad + "bad magic");
  uint32_t fields[5];
  std::memcpy(fields, data_.data() + 8, sizeof fields);
  if (fields[0] != kVersion) throw Error(bad + "unsupported version " + std::to_string(fields[0]));
  header_.n_vocab = fields[1];
  header_.n_ctx = fields[2];
  header_.n_chunks = fields[3];
  header_.n_scored_per_chunk = fields[4];
  uint64_t n_tokens;
  std::memcpy(&n_tokens, data_.data() + 28, sizeof n_tokens);
  size_t off = 36;
  if (header_.n_vocab == 0 || n_tokens > (data_.size() - off) / sizeof(TokenId)) throw Error(bad + "truncated header");
  header_.tokens.resize(static_cast<size_t>(n_tokens));
  std::memcpy(header_.tokens.data(), data_.data() + off, n_tokens * sizeof(TokenId));
  off += n_tokens * sizeof(TokenId);
  records_offset_ = off;
  const size_t rec = 8 + static_cast<size_t>(header_.n_vocab) * 2;
  n_records_ = static_cast<size_t>(header_.n_chunks) * header_.n_scored_per_chunk;
  if ((data_.size() - off) / rec < n_records_) throw Error(bad + "truncated: fewer records than the header promises");
}

void LogprobReader::record(size_t i, std::vector<double>& out) const {
  if (i >= n_records_) throw Error("log-prob record " + std::to_string(i) + " out of range");
  const size_t rec = 8 + static_cast<size_t>(header_.n_vocab) * 2;
  const uint8_t* p = data_.data() + records_offset_ + i * rec;
  float lo, step;
  std::memcpy(&lo, p, 4);
  std::memcpy(&step, p + 4, 4);
  out.resize(header_.n_vocab);
  double mx = -INFINITY;
  for (uint32_t k = 0; k < header_.n_vocab; ++k) {
    uint16_t q;
    std::memcpy(&q, p + 8 + 2 * k, 2);
    out[k] = static_cast<double>(lo) + static_cast<double>(step) * q;
    mx = std::max(mx, out[k]);
  }
  // Renormalize: quantization noise must not leave a first-order KLD term.
  double sum = 0;
  for (double v : out) sum += std::exp(v - mx);
  const double lse = mx + std::log(sum);
  for (double& v : out) v -= lse;
}

}  // namespace kestrel
