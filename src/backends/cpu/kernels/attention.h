// Causal attention over a paged KV cache (kv_store.h fills the cache).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels/rope.h"
#include "core/dtype.h"

namespace autoglm::cpu {

struct AttentionParams {
  int64_t n_tok, n_head, n_head_kv, head_dim;
  float scale;                      // usually 1/sqrt(head_dim)
  DType kv_type;                    // F32, F16, or Q8_0 with head_dim a multiple of 32
  size_t k_row_bytes, v_row_bytes;  // bytes per cache row (one position, all kv heads)
  const int32_t* positions;         // [n_tok]: token t sees positions [0, positions[t]]
  const int32_t* tok_seq;           // [n_tok]: the sequence (block-table row) of token t
  const int32_t* block_tables;      // [n_seqs, table_width]: physical block of each block of
                                    // positions; position p is in row tbl[p / bs] * bs + p % bs
  int64_t table_width;
  int64_t block_size;
  // RopeAttention: q arrives unrotated and each job rotates its heads by the token's position
  // (as rope() would); null when q is already rotated.
  const RopeParams* q_rope = nullptr;
};

// head_dim <= 512. q: [n_tok, n_head, head_dim] f32; k, v cache: [n_slots, n_head_kv, head_dim]
// in kv_type; out: [n_tok, n_head, head_dim] f32. GQA: query head h reads kv head h / (n_head /
// n_head_kv). Scores, softmax and the weighted V sum are f32; Q8_0 rows are dequantized on the
// fly (exactly: the result equals an F32 cache holding the dequantized rows). Parallel over
// (token, head) pairs, split so each thread gets an equal share of the work (positions seen).
void attention(const float* q, const void* k_cache, const void* v_cache, float* out,
               const AttentionParams& p, int ith, int nth);

}  // namespace autoglm::cpu
