#include "backends/cpu/kernels/get_rows.h"

#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {

void get_rows(DType t, const void* table, size_t row_bytes, const int32_t* ids, int64_t n_ids,
              int64_t n_embd, float* out, int ith, int nth) {
  int64_t i0, i1;
  ThreadPool::split(n_ids, ith, nth, &i0, &i1);
  const auto* base = static_cast<const uint8_t*>(table);
  for (int64_t i = i0; i < i1; ++i) {
    dequantize_row(t, base + static_cast<size_t>(ids[i]) * row_bytes, out + i * n_embd, n_embd);
  }
}

}  // namespace autoglm::cpu
