// Causal attention over a KV cache, and the store that fills the cache.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace autoglm::cpu {

// Writes n_tok rows of src [n_tok, row_elems] f32 into cache rows [first_row, first_row + n_tok)
// converted to cache_type (F32 or F16). cache row stride cache_row_bytes. Parallel over rows.
void kv_store(const float* src, int64_t n_tok, int64_t row_elems, DType cache_type, void* cache,
              size_t cache_row_bytes, int64_t first_row, int ith, int nth);

struct AttentionParams {
  int64_t n_tok, n_head, n_head_kv, head_dim;
  int64_t n_past;  // query token t sits at position n_past + t and sees cache rows [0, n_past + t]
  float scale;     // usually 1/sqrt(head_dim)
  DType kv_type;   // F32 or F16
  size_t k_row_bytes, v_row_bytes;  // bytes per cache row (one position, all kv heads)
};

// head_dim <= 512. q: [n_tok, n_head, head_dim] f32; k, v cache: [n_ctx, n_head_kv, head_dim] in
// kv_type; out: [n_tok, n_head, head_dim] f32. Causal; GQA: query head h reads kv head h / (n_head
// / n_head_kv). Scores, softmax and the weighted V sum are f32. Parallel over (token, head) pairs,
// split so each thread gets an equal share of causal work.
void attention(const float* q, const void* k_cache, const void* v_cache, float* out,
               const AttentionParams& p, int ith, int nth);

}  // namespace autoglm::cpu
