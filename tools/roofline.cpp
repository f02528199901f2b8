// Roofline arithmetic (roofline.h).
#include "roofline.h"

#include <cstdio>

#include "core/interrupt.h"
#include "kv/kv_format.h"

namespace kestrel::cli {

double weight_bytes_per_step(const Model& m) {
  const ModelConfig& c = m.config();
  double bytes = 0;
  for (const auto& t : m.gguf().tensors()) {
    if (t.name == "token_embd.weight") bytes += static_cast<double>(t.nbytes) / static_cast<double>(c.n_vocab);
    else bytes += static_cast<double>(t.nbytes);
  }
  if (!m.gguf().find_tensor("output.weight")) bytes += static_cast<double>(m.weights().output.row_bytes()) * c.n_vocab;
  return bytes;
}

double kv_bytes(const Model& m, double positions) {
  const ModelConfig& c = m.config();
  const KvGeometry g{c.n_layer, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim)};
  return positions * kv_bytes_per_token(default_kv_format(), g);
}

double tg_bytes_per_token(const Model& m, double mean_depth) { return weight_bytes_per_step(m) + kv_bytes(m, mean_depth); }

double matmul_ops_per_token(const Model& m) {
  double ops = 0;
  for (const LayerWeights& L : m.weights().layers) {
    for (const WeightMatrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      ops += 2.0 * static_cast<double>(w->n_in) * static_cast<double>(w->n_out);
    }
  }
  return ops;
}

double attention_ops(const Model& m, double positions) {
  const ModelConfig& c = m.config();  // QK^T and PV: 2 products of head_dim per key, per head, per layer
  return 2.0 * 2.0 * static_cast<double>(c.n_head * c.head_dim) * positions * static_cast<double>(c.n_layer);
}

double output_ops(const Model& m) {
  const ModelConfig& c = m.config();
  return 2.0 * static_cast<double>(c.n_vocab * c.n_embd);
}

double pp_ops(const Model& m, int64_t n, int64_t d) {
  // Token p sees p + 1 positions: sum over p in [d, d + n).
  const double seen = static_cast<double>(n) * static_cast<double>(d) + static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
  return matmul_ops_per_token(m) * static_cast<double>(n) + attention_ops(m, seen) + output_ops(m);
}

void probe_hardware(std::map<int64_t, HardwarePeaks>& peaks, const std::vector<int64_t>& threads, const char* when) {
  for (int64_t t : threads) {
    checkpoint();
    std::fprintf(stderr, "measuring hardware limits with %lld threads (%s)...\n", static_cast<long long>(t), when);
    const HardwarePeaks hp = measure_hardware_peaks(static_cast<int>(t));
    std::fprintf(stderr, "  read bandwidth %.2f GB/s, f32 FMA peak %.1f GFLOP/s, int8 dot peak %.1f GOP/s\n",
                 hp.read_bandwidth / 1e9, hp.f32_peak / 1e9, hp.int8_peak / 1e9);
    peaks[t] = peaks.count(t) ? best_of(peaks[t], hp) : hp;
  }
}

bool weights_quantized(const Model& m) { return m.weights().layers.front().wq.tt->is_quantized; }

std::string human_size(double bytes) {
  char buf[32];
  if (bytes >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  else std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / (1024.0 * 1024));
  return buf;
}

std::string human_params(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  return buf;
}

void fill_random(std::vector<TokenId>& v, int64_t n, int64_t n_vocab, std::mt19937& rng) {
  std::uniform_int_distribution<TokenId> dist(0, static_cast<TokenId>(n_vocab - 1));
  v.resize(static_cast<size_t>(n));
  for (auto& t : v) t = dist(rng);
}

}  // namespace kestrel::cli
