// Embedding lookup: gathers table rows by id and dequantizes them to f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace autoglm::cpu {

// table: [n_rows, n_embd] in t (any type core/quant.h dequantizes), row stride row_bytes;
// ids: [n_ids] (caller has bounds-checked them); out: [n_ids, n_embd] f32. Parallel over ids.
void get_rows(DType t, const void* table, size_t row_bytes, const int32_t* ids, int64_t n_ids,
              int64_t n_embd, float* out, int ith, int nth);

}  // namespace autoglm::cpu
