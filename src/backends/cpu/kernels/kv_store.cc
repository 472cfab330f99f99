#include "backends/cpu/kernels/kv_store.h"

#include <vector>

#include "backends/cpu/kernels/matmul.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {

void kv_store(const float* src, const int32_t* slots, int64_t n_tok, int64_t row_elems,
              DType cache_type, void* cache, size_t cache_row_bytes, const KvStoreRope* rope,
              int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(n_tok, ith, nth, &r0, &r1);
  thread_local std::vector<float> rotated;  // [row_elems]
  if (rope) rotated.resize(static_cast<size_t>(row_elems));
  for (int64_t r = r0; r < r1; ++r) {
    const float* s = src + r * row_elems;  // [row_elems]
    if (rope) {
      cpu::rope(s, rotated.data(), 1, rope->n_head, rope->head_dim, rope->positions + r,
                rope->params, 0, 1);
      s = rotated.data();
    }
    // Q8_0 rows round as llama.cpp's CPU copy into a Q8_0 cache does (ggml's run-time
    // quantize_row_q8_0: scale 127/amax, ties to even), which is quantize_row_activation's.
    convert_row(cache_type, s,
                static_cast<uint8_t*>(cache) + static_cast<size_t>(slots[r]) * cache_row_bytes,
                row_elems);
  }
}

}  // namespace autoglm::cpu
