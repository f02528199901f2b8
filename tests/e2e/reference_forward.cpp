// Implementation of the scalar reference forward pass (reference_forward.h).
#include "reference_forward.h"

#include <cmath>
#include <limits>

#include "core/half.h"

namespace kestrel::test {
namespace {

// y[o] = W[o] . x using the scalar oracle on activations converted to the
// weight's activation format.
std::vector<float> matvec(const WeightMatrix& w, const std::vector<float>& x) {
  const TypeTraits& at = type_traits(w.tt->vec_dot_type);
  std::vector<uint8_t> act(row_bytes(at, w.n_in));
  if (w.tt->vec_dot_type == DType::F32) {
    std::memcpy(act.data(), x.data(), act.size());
  } else {
    at.from_float(x.data(), act.data(), w.n_in);
  }
  std::vector<float> y(static_cast<size_t>(w.n_out));
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t o = 0; o < w.n_out; ++o) {
    y[static_cast<size_t>(o)] = w.tt->vec_dot_ref(static_cast<int>(w.n_in), base + o * w.row_bytes(), act.data());
  }
  return y;
}

std::vector<float> norm(const std::vector<float>& x, const float* g, float eps) {
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v * v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(x.size())) + eps);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * g[i];
  return y;
}

float f16_round(float v) { return fp16_to_fp32(fp32_to_fp16(v)); }

void rotate(float* head, const ModelConfig& c, const float* freq_factors, int64_t pos) {
  const int half = c.n_rot / 2;
  const float step = std::pow(c.rope_base, -2.0f / static_cast<float>(c.n_rot));
  float theta = static_cast<float>(pos);
  for (int i = 0; i < half; ++i) {
    const float t = c.rope_freq_scale * theta / (freq_factors ? freq_factors[i] : 1.0f);
    const int a = c.rope_style == RopeStyle::Adjacent ? 2 * i : i;
    const int b = c.rope_style == RopeStyle::Adjacent ? 2 * i + 1 : i + half;
    const float x0 = head[a], x1 = head[b];
    head[a] = x0 * std::cos(t) - x1 * std::sin(t);
    head[b] = x0 * std::sin(t) + x1 * std::cos(t);
    theta *= step;
  }
}

}  // namespace

std::vector<float> reference_forward(const Model& model, const std::vector<TokenId>& tokens) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t E = c.n_embd, hd = c.head_dim, group = c.n_head / c.n_head_kv;
  std::vector<std::vector<float>> x(static_cast<size_t>(n), std::vector<float>(static_cast<size_t>(E)));
  for (int64_t t = 0; t < n; ++t) {
    w.tok_embd.tt->to_float(static_cast<const uint8_t*>(w.tok_embd.data) + tokens[t] * w.tok_embd.row_bytes(),
                            x[t].data(), E);
  }
  for (const LayerWeights& L : w.layers) {
    // Keys and values of every position, rounded to f16 as the cache stores them.
    std::vector<std::vector<float>> q(static_cast<size_t>(n)), k(static_cast<size_t>(n)), v(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      const auto h = norm(x[t], L.attn_norm, c.rms_eps);
      q[t] = matvec(L.wq, h);
      k[t] = matvec(L.wk, h);
      v[t] = matvec(L.wv, h);
      for (int64_t i = 0; L.bq && i < c.q_dim(); ++i) q[t][i] += L.bq[i];
      for (int64_t i = 0; L.bk && i < c.kv_dim(); ++i) k[t][i] += L.bk[i];
      for (int64_t i = 0; L.bv && i < c.kv_dim(); ++i) v[t][i] += L.bv[i];
      for (int64_t hh = 0; hh < c.n_head; ++hh) rotate(q[t].data() + hh * hd, c, w.rope_freqs, t);
      for (int64_t hh = 0; hh < c.n_head_kv; ++hh) rotate(k[t].data() + hh * hd, c, w.rope_freqs, t);
      for (float& e : k[t]) e = f16_round(e);
      for (float& e : v[t]) e = f16_round(e);
    }
    for (int64_t t = 0; t < n; ++t) {
      std::vector<float> att(static_cast<size_t>(c.q_dim()), 0.0f);
      for (int64_t hh = 0; hh < c.n_head; ++hh) {
        const int64_t kvh = hh / group;
        std::vector<float> s(static_cast<size_t>(t + 1));
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j <= t; ++j) {
          float d = 0;
          for (int64_t i = 0; i < hd; ++i) d += f16_round(q[t][hh * hd + i]) * k[j][kvh * hd + i];
          s[j] = d * (1.0f / std::sqrt(static_cast<float>(hd)));  // ggml scales by multiplication
          mx = std::max(mx, s[j]);
        }
        // Normalize by multiplying with the f32 reciprocal, as ggml does: a
        // last-bit difference here can flip an f16 or Q8 rounding downstream,
        // which these random-weight models amplify into visible logit changes.
        double sum = 0;
        for (float& e : s) sum += (e = std::exp(e - mx));
        const auto inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j <= t; ++j) {
          const float p = f16_round(s[j] * inv);
          for (int64_t i = 0; i < hd; ++i) att[hh * hd + i] += p * v[j][kvh * hd + i];
        }
      }
      const auto o = matvec(L.wo, att);
      for (int64_t i = 0; i < E; ++i) x[t][i] += o[i];
      const auto h = norm(x[t], L.ffn_norm, c.rms_eps);
      auto g = matvec(L.w_gate, h);
      const auto u = matvec(L.w_up, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
      const auto d = matvec(L.w_down, g);
      for (int64_t i = 0; i < E; ++i) x[t][i] += d[i];
    }
  }
  std::vector<float> logits;
  logits.reserve(static_cast<size_t>(n * c.n_vocab));
  for (int64_t t = 0; t < n; ++t) {
    const auto y = matvec(w.output, norm(x[t], w.output_norm, c.rms_eps));
    logits.insert(logits.end(), y.begin(), y.end());
  }
  return logits;
}

}  // namespace kestrel::test
