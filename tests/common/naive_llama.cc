#include "naive_llama.h"

#include <cmath>
#include <string>

namespace autoglm::testing {
namespace {

using Vec = std::vector<double>;

Vec matvec(const std::vector<float>& w, const Vec& x, size_t n_out) {  // w: [n_out, x.size()]
  Vec y(n_out, 0.0);
  for (size_t o = 0; o < n_out; ++o) {
    for (size_t i = 0; i < x.size(); ++i) y[o] += static_cast<double>(w[o * x.size() + i]) * x[i];
  }
  return y;
}

Vec rms_norm(const Vec& x, const std::vector<float>& w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + 1e-5);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

void rope(Vec& x, size_t n_head, size_t hd, int pos, double base) {
  for (size_t h = 0; h < n_head; ++h) {
    for (size_t i = 0; i < hd / 2; ++i) {
      const double theta =
          pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
      double& a = x[h * hd + 2 * i];
      double& b = x[h * hd + 2 * i + 1];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(theta) - b0 * std::sin(theta);
      b = a0 * std::sin(theta) + b0 * std::cos(theta);
    }
  }
}

}  // namespace

std::vector<std::vector<float>> naive_llama_logits(const TinyLlama& c, const TinyLlamaWeights& w,
                                                   const std::vector<int32_t>& tokens) {
  const size_t e = static_cast<size_t>(c.n_embd), nh = static_cast<size_t>(c.n_head);
  const size_t nkv = static_cast<size_t>(c.n_head_kv), hd = e / nh,
               ff = static_cast<size_t>(c.n_ff);
  const size_t T = tokens.size();
  std::vector<Vec> x(T, Vec(e));
  const auto& emb = w.get("token_embd.weight");
  for (size_t t = 0; t < T; ++t) {
    for (size_t i = 0; i < e; ++i) x[t][i] = emb[static_cast<size_t>(tokens[t]) * e + i];
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l);
    std::vector<Vec> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      Vec h = rms_norm(x[t], w.get(p + ".attn_norm.weight"));
      q[t] = matvec(w.get(p + ".attn_q.weight"), h, e);
      k[t] = matvec(w.get(p + ".attn_k.weight"), h, nkv * hd);
      v[t] = matvec(w.get(p + ".attn_v.weight"), h, nkv * hd);
      rope(q[t], nh, hd, static_cast<int>(t), c.rope_freq_base);
      rope(k[t], nkv, hd, static_cast<int>(t), c.rope_freq_base);
    }
    for (size_t t = 0; t < T; ++t) {
      Vec a(e, 0.0);
      for (size_t h = 0; h < nh; ++h) {
        const size_t kh = h / (nh / nkv);
        Vec s(t + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= t; ++j) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][kh * hd + i];
          s[j] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& sj : s) sum += (sj = std::exp(sj - mx));
        for (size_t j = 0; j <= t; ++j) {
          for (size_t i = 0; i < hd; ++i) a[h * hd + i] += s[j] / sum * v[j][kh * hd + i];
        }
      }
      const Vec o = matvec(w.get(p + ".attn_output.weight"), a, e);
      for (size_t i = 0; i < e; ++i) x[t][i] += o[i];
      const Vec h = rms_norm(x[t], w.get(p + ".ffn_norm.weight"));
      Vec g = matvec(w.get(p + ".ffn_gate.weight"), h, ff);
      const Vec u = matvec(w.get(p + ".ffn_up.weight"), h, ff);
      for (size_t i = 0; i < ff; ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = matvec(w.get(p + ".ffn_down.weight"), g, e);
      for (size_t i = 0; i < e; ++i) x[t][i] += d[i];
    }
  }
  const auto& out_w = c.tied_output ? emb : w.get("output.weight");
  std::vector<std::vector<float>> logits(T);
  for (size_t t = 0; t < T; ++t) {
    const Vec y =
        matvec(out_w, rms_norm(x[t], w.get("output_norm.weight")), static_cast<size_t>(kTinyVocab));
    logits[t].assign(y.begin(), y.end());
  }
  return logits;
}

}  // namespace autoglm::testing
