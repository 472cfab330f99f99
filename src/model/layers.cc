#include "model/layers.h"

namespace autoglm::model {

graph::Value rms_norm_weighted(graph::Builder& b, graph::Value x, graph::Value weight, float eps,
                               const std::string& name) {
  return b.mul(b.rms_norm(x, eps, name + ".rms"), weight, name);
}

graph::Value swiglu_ffn(graph::Builder& b, graph::Value x, const Weights& w,
                        const std::string& prefix) {
  graph::Value gate =
      b.matmul(w.get(prefix + ".ffn_gate.weight"), x, prefix + ".ffn_gate");  // [n_tok, n_ff]
  graph::Value up =
      b.matmul(w.get(prefix + ".ffn_up.weight"), x, prefix + ".ffn_up");  // [n_tok, n_ff]
  graph::Value act = b.mul(b.silu(gate, prefix + ".ffn_silu"), up, prefix + ".ffn_swiglu");
  return b.matmul(w.get(prefix + ".ffn_down.weight"), act,
                  prefix + ".ffn_down");  // [n_tok, n_embd]
}

Result<int64_t> arch_int(const gguf::File& f, const std::string& arch, const std::string& key) {
  auto v = f.get_int(arch + "." + key);
  if (!v.ok()) return error(ErrorCode::CorruptFile, "model metadata: " + v.status().message());
  if (*v <= 0)
    return error(ErrorCode::CorruptFile,
                 "model metadata: '" + arch + "." + key + "' must be positive");
  return *v;
}

Result<float> arch_float_or(const gguf::File& f, const std::string& arch, const std::string& key,
                            float fallback) {
  auto v = f.get_float_or(arch + "." + key, fallback);
  if (!v.ok()) return error(ErrorCode::CorruptFile, "model metadata: " + v.status().message());
  return static_cast<float>(*v);
}

}  // namespace autoglm::model
