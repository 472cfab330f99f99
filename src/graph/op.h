// Operator kinds and their parameters.
#pragma once

#include <cstdint>
#include <string_view>

namespace autoglm::graph {

enum class OpKind : uint8_t {
  Input,      // fed by the caller each run (token ids, positions, output row ids)
  Weight,     // constant tensor bound to model memory (zero-copy)
  KvCache,    // persistent state bound by the session (one K or V cache of a layer)
  GetRows,    // out[i] = table[ids[i]]                 in: table, ids
  RmsNorm,    // x / rms(x)                             in: x
  Mul,        // a * b, b broadcast over rows           in: a, b
  Add,        // a + b, b broadcast over rows           in: a, b
  Silu,       // x * sigmoid(x)                         in: x
  MatMul,     // x · wᵀ                                 in: w [n_out, k], x [n_tok, k]
  Rope,       // rotary position embedding             in: x, positions[, freq_factors]
  Softmax,    // softmax(x * scale) per row            in: x
  KvStore,    // writes rows at n_past into a cache    in: cache, src; out aliases the cache
  Attention,  // causal GQA attention over the cache   in: q, k_cache(after store), v_cache
};

std::string_view op_name(OpKind op);

struct OpParams {
  float eps = 0.0f;    // RmsNorm
  float scale = 1.0f;  // Softmax, Attention
  // Rope
  int32_t n_rot = 0;
  bool neox = false;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  // Rope, Attention, KvStore: head geometry of the rows
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
};

}  // namespace autoglm::graph
