#include "backends/cpu/kernels/kv_store.h"

#include <cstring>
#include <vector>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/matmul_avx2.h"
#include "core/half.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

#if defined(__x86_64__)
AUTOGLM_AVX2 void kv_store_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) avx2::store_f16(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = static_cast<uint16_t>(_cvtss_sh(src[i], 0));
}
#endif

// Q8_0 rows are quantized as llama.cpp's CPU copy into a Q8_0 cache does (ggml's run-time
// quantize_row_q8_0: scale 127/amax, ties to even), which is quantize_row_activation's rounding;
// the AVX2 converter writes the same bytes.
void store_q8_0(const float* src, void* dst, int64_t n) {
#if defined(__x86_64__)
  if (has_avx2(active_isa())) return avx2::convert_row(DType::Q8_0, src, dst, n);
#endif
  quantize_row_activation(DType::Q8_0, src, dst, n);
}

}  // namespace

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
    void* d = static_cast<uint8_t*>(cache) + static_cast<size_t>(slots[r]) * cache_row_bytes;
    if (cache_type == DType::F32) {
      std::memcpy(d, s, static_cast<size_t>(row_elems) * sizeof(float));
      continue;
    }
    if (cache_type == DType::Q8_0) {
      store_q8_0(s, d, row_elems);
      continue;
    }
    auto* h = static_cast<uint16_t*>(d);
#if defined(__x86_64__)
    if (has_avx2(active_isa())) {
      kv_store_f16_avx2(s, h, row_elems);
      continue;
    }
#endif
    for (int64_t i = 0; i < row_elems; ++i) h[i] = fp32_to_fp16(s[i]);
  }
}

}  // namespace autoglm::cpu
