// Causal attention over a paged KV cache, and the store that fills the cache.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels/rope.h"
#include "core/dtype.h"

namespace autoglm::cpu {

// RoPE applied to each row on its way into the cache (graph op RopeKvStore).
struct KvStoreRope {
  RopeParams params;
  const int32_t* positions;  // [n_tok]
  int64_t n_head, head_dim;  // n_head * head_dim == row_elems
};

// Writes row i of src [n_tok, row_elems] f32 into cache row slots[i], rotated first when rope is
// given (as rope() would), converted to cache_type (F32, F16, or Q8_0 with row_elems a multiple
// of 32: blocks of 32 with one F16 scale each, as quantize_row_activation writes them); cache
// rows are cache_row_bytes apart. Parallel over rows.
void kv_store(const float* src, const int32_t* slots, int64_t n_tok, int64_t row_elems,
              DType cache_type, void* cache, size_t cache_row_bytes, const KvStoreRope* rope,
              int ith, int nth);

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
