// What a model's forward pass must move and compute, for the roofline
// fractions `bench` and `batched-bench` print (formulas: docs/bench.md).
//
// Decode is bound by bytes read: every weight once per step (whatever the
// number of sequences in the step) plus each sequence's cached keys and
// values (the KV format's bytes per position, kv/kv_format.h). Prefill and
// wide batches are bound by operations: 2 per multiply-add of every matrix
// product, attention's QK^T and PV included.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "models/model.h"
#include "perf/hardware_peaks.h"

namespace kestrel::cli {

// Weight bytes one forward step reads (one token-embedding row).
double weight_bytes_per_step(const Model& m);
// K/V bytes attention reads over `positions` cached positions (f16 cache).
double kv_bytes(const Model& m, double positions);
// Bytes of one single-sequence decode step whose token sees mean_depth positions.
double tg_bytes_per_token(const Model& m, double mean_depth);
// Operations of the matrix products of one token (the output matrix excluded).
double matmul_ops_per_token(const Model& m);
// Operations of attention for one token that sees `positions` positions.
double attention_ops(const Model& m, double positions);
// Operations of a prompt of n tokens starting at depth d, logits for its last token.
double pp_ops(const Model& m, int64_t n, int64_t d);
// The output matrix for one token.
double output_ops(const Model& m);

// Measures the limits for each thread count (printing them on stderr)
// into `peaks`, keeping the better of this and any earlier probe (other
// tenants only slow a probe down).
void probe_hardware(std::map<int64_t, HardwarePeaks>& peaks, const std::vector<int64_t>& threads, const char* when);

bool weights_quantized(const Model& m);
std::string human_size(double bytes);
std::string human_params(double n);
void fill_random(std::vector<TokenId>& v, int64_t n, int64_t n_vocab, std::mt19937& rng);

}  // namespace kestrel::cli
