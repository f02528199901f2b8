// Sampling fields of generation requests.
#include "server/request_sampling.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace kestrel::server {

using nlohmann::json;

const std::set<std::string>& sampling_field_names() {
  static const std::set<std::string> names = {
      "temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty", "frequency_penalty",
      "repeat_penalty", "repeat_last_n", "typical_p", "logit_bias", "ignore_eos", "mirostat", "mirostat_tau",
      "mirostat_eta", "dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n", "xtc_probability",
      "xtc_threshold", "top_n_sigma", "dynatemp_range", "dynatemp_exponent", "min_keep"};
  return names;
}

namespace {

float bias_value(const json& b, const std::string& where) {
  if (b.is_boolean()) {
    if (b.get<bool>()) throw bad_field(where, "true is not a bias (false bans the token)");
    return -std::numeric_limits<float>::infinity();
  }
  if (!b.is_number() || !std::isfinite(b.get<double>())) throw bad_field(where, "expected a number");
  return b.get<float>();
}

int32_t bias_token(const json& t, int32_t n_vocab, const std::string& where) {
  int64_t id = -1;
  if (t.is_number_integer()) {
    id = t.get<int64_t>();
  } else if (t.is_string()) {
    const std::string s = t.get<std::string>();
    size_t used = 0;
    try {
      id = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty()) throw bad_field(where, "token ids must be integers, got '" + s + "'");
  } else {
    throw bad_field(where, "expected a token id");
  }
  if (id < 0 || id >= n_vocab) throw bad_field(where, "token id " + std::to_string(id) + " is outside the vocabulary");
  return static_cast<int32_t>(id);
}

}  // namespace

void read_logit_bias(const json& v, int32_t n_vocab, SamplingParams& p) {
  if (v.is_object()) {
    for (const auto& [k, b] : v.items()) p.logit_bias.push_back({bias_token(json(k), n_vocab, "logit_bias"), bias_value(b, "logit_bias")});
  } else if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_array() || e.size() != 2) throw bad_field("logit_bias", "expected [token, bias] pairs");
      p.logit_bias.push_back({bias_token(e[0], n_vocab, "logit_bias"), bias_value(e[1], "logit_bias")});
    }
  } else if (!v.is_null()) {
    throw bad_field("logit_bias", "expected an object of token id -> bias");
  }
}

void read_sampling_fields(const Fields& f, int32_t n_vocab, GenerationRequest& r) {
  SamplingParams& p = r.sampling;
  const auto num = [&](const char* name, double lo, double hi, float& out) {
    if (auto v = f.number(name, lo, hi)) out = static_cast<float>(*v);
  };
  const auto integer = [&](const char* name, int64_t lo, int64_t hi, int32_t& out) {
    if (auto v = f.integer(name, lo, hi)) out = static_cast<int32_t>(*v);
  };
  num("temperature", 0, 100, p.temp);
  num("top_p", 0, 1, p.top_p);
  integer("top_k", 0, n_vocab, p.top_k);
  num("min_p", 0, 1, p.min_p);
  num("typical_p", 0, 1, p.typical_p);
  num("presence_penalty", -2, 2, p.penalty_present);
  num("frequency_penalty", -2, 2, p.penalty_freq);
  num("repeat_penalty", 0, 100, p.penalty_repeat);
  integer("repeat_last_n", -1, INT32_MAX, p.penalty_last_n);
  integer("mirostat", 0, 2, p.mirostat);
  num("mirostat_tau", 0, 100, p.mirostat_tau);
  num("mirostat_eta", 0, 10, p.mirostat_eta);
  num("dry_multiplier", 0, 100, p.dry_multiplier);
  num("dry_base", 0, 100, p.dry_base);
  integer("dry_allowed_length", 0, INT32_MAX, p.dry_allowed_length);
  integer("dry_penalty_last_n", -1, INT32_MAX, p.dry_penalty_last_n);
  num("xtc_probability", 0, 1, p.xtc_probability);
  num("xtc_threshold", 0, 1, p.xtc_threshold);
  num("top_n_sigma", -1, 100, p.top_n_sigma);
  num("dynatemp_range", 0, 100, p.dynatemp_range);
  num("dynatemp_exponent", 0, 100, p.dynatemp_exponent);
  integer("min_keep", 0, n_vocab, p.min_keep);
  if (auto s = f.integer("seed", -1, UINT32_MAX)) p.seed = *s < 0 ? kRandomSeed : static_cast<uint32_t>(*s);
  if (auto b = f.boolean("ignore_eos")) p.ignore_eos = *b;
  if (f.has("logit_bias")) read_logit_bias(f.raw("logit_bias"), n_vocab, p);
}

}  // namespace kestrel::server
