// The store that fills the paged KV cache, one token's K (or V) row at a time.
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

}  // namespace autoglm::cpu
