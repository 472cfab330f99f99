// Operator kinds and their parameters.
#pragma once

#include <cstdint>
#include <string_view>

namespace autoglm::graph {

struct CustomOp;

enum class OpKind : uint8_t {
  Input,    // fed by the caller each run (token ids, positions, KV slots, block tables, ...)
  Weight,   // constant tensor bound to model memory (zero-copy)
  KvCache,  // persistent state: one layer's K or V pool, [n_slots, n_head_kv*head_dim]
  GetRows,  // out[i] = table[ids[i]]                 in: table, ids
  RmsNorm,  // x / rms(x)                             in: x
  Mul,      // a * b, b broadcast over rows           in: a, b
  Add,      // a + b, b broadcast over rows           in: a, b
  Silu,     // x * sigmoid(x)                         in: x
  MatMul,   // x · wᵀ                                 in: w [n_out, k], x [n_tok, k]
  Rope,     // rotary position embedding             in: x, positions[, freq_factors]
  Softmax,  // softmax(x * scale) per row            in: x
  KvStore,  // cache[slots[i]] = src[i]               in: cache, src, slots; out aliases cache
  // Causal GQA attention through block tables. Token t of sequence s = tok_seq[t] sees
  // positions [0, positions[t]]; position p of s lives in cache row
  // block_tables[s][p / block_size] * block_size + p % block_size.
  //                                       in: q, k_cache, v_cache (after their stores),
  //                                           positions, tok_seq, block_tables [n_seqs, width]
  Attention,
  // Fused by passes (graph/passes/fuse.h) where every chosen device runs them:
  RmsNormMul,  // rms_norm(x) * w, w broadcast over rows    in: x, w
  SwiGlu,      // silu(gate) * up                          in: gate, up
  // KvStore of Rope(src)      in: cache, src, slots, positions, freq_factors (may be -1);
  //                               out aliases cache
  RopeKvStore,
  // Attention of Rope(q)      in: Attention's six inputs, then freq_factors (may be -1)
  RopeAttention,
  // An op registered at run time (graph/custom_op.h): params.custom names its definition, whose
  // shape rule the verifier applies and whose kernels the backends look up by name.
  Custom,
};

std::string_view op_name(OpKind op);

// Ops whose output is the KV cache they write (in place), not a tensor of their own.
constexpr bool stores_kv(OpKind op) {
  return op == OpKind::KvStore || op == OpKind::RopeKvStore;
}

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
  int32_t block_size = 0;  // Attention: KV rows per block
  // Custom: the registered definition (lives until exit). Custom ops may read any field above
  // as their attributes, e.g. scale.
  const CustomOp* custom = nullptr;
};

}  // namespace autoglm::graph
