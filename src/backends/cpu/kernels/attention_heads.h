// The head kernels behind attention() (internal to the CPU kernels). A job is the query heads
// of one token that share a kv head, over that kv head's visible cache rows; pick_head_fns
// chooses the kernels for the cache's type, the head size and the ISA.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace autoglm::cpu::attn {

constexpr int64_t kMaxHeadDim = 512;
constexpr int kMaxHeadsPerJob = 4;  // query heads of one GQA group attended together

// n_q query heads of one token that share a kv head: the visible cache rows of that kv head.
struct HeadJob {
  int n_q;              // 1 .. kMaxHeadsPerJob
  const float* q;       // [n_q, head_dim]
  const uint8_t* k;     // this kv head in cache row 0; rows k_row_bytes apart
  const uint8_t* v;     // same for V
  const int32_t* rows;  // [n_kv]: cache row of each visible position
  size_t k_row_bytes, v_row_bytes;
  int64_t n_kv, head_dim;
  float scale;
  // The token is its sequence's only one in this call: llama.cpp then takes its one-row
  // (vec_dot) order instead of the batched (tinyBLAS) one, and so do the 16-lane kernels.
  bool single;
  float* scores;  // [n_q, n_kv] scratch
  float* out;     // [n_q, head_dim]
};

using HeadFn = void (*)(const HeadJob&);

// fns[n - 1] attends n heads of a group. dequantized: Q8_0 rows reach them dequantized to f32
// (attention.cc's DequantizedRows) rather than as they are in the cache.
struct HeadFns {
  HeadFn fns[kMaxHeadsPerJob];
  bool dequantized = false;
};

// Without a kernel of their own, Q8_0 rows take the F32 ones over their dequantized copy.
HeadFns pick_head_fns(DType kv_type, int64_t head_dim);

#if defined(__x86_64__)
// An F16 cache with head_dim % 16 == 0, in llama.cpp's 16-lane order (attention_lanes16.cc).
HeadFns lanes16_avx2_fns();
HeadFns lanes16_avx512_fns();
#endif

}  // namespace autoglm::cpu::attn
