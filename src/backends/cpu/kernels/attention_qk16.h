// q·k over 16 cache rows at a time on AVX-512, shared by the head kernels (internal, x86 only):
// the F32 / Q8_0 row kernels and llama.cpp's 16-lane F16 order, batched or one-row.
#pragma once

#include "backends/cpu/kernels/attention_heads.h"
#include "backends/cpu/kernels/avx512_math.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace autoglm::cpu::attn {

// A row's 16 lanes in the batched (tinyBLAS) order: lane l chains elements 16 m + l by FMA,
// from their first product.
struct BatchedLanes {
  AUTOGLM_AVX512 static __m512 row(const float* q, const float* k, int64_t hd) {
    __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(q), _mm512_loadu_ps(k));
    for (int64_t d = 16; d < hd; d += 16)
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), _mm512_loadu_ps(k + d), acc);
    return acc;
  }
};

// scores[g][r] = q[g]·k[r] for the job's NQ heads (q: [NQ, head_dim]): each block of 16 K rows
// is widened to f32 once by Row::load16 for all the heads, each row's 16 lanes are formed by
// Lanes::row, and tree16_x16 sums the 16 rows' lanes at once in the order of a 512-bit
// horizontal add. A block's rows past n_kv repeat its first row: lanes never mix rows, and the
// masked store drops them. kHd, when not 0, is head_dim known when compiled (loops unrolled).
template <int NQ, class Row, class Lanes, int64_t kHd = 0>
AUTOGLM_AVX512 inline void qk16_avx512(const HeadJob& j, const float* q) {
  const int64_t hd = kHd ? kHd : j.head_dim;
  alignas(64) float kf[16 * kMaxHeadDim];  // [16, head_dim]
  for (int64_t r0 = 0; r0 < j.n_kv; r0 += 16) {
    const int64_t n = j.n_kv - r0 < 16 ? j.n_kv - r0 : 16;
    for (int64_t i = 0; i < 16; ++i) {
      const uint8_t* k = j.k + j.rows[r0 + (i < n ? i : 0)] * j.k_row_bytes;
      for (int64_t d = 0; d < hd; d += 16) _mm512_store_ps(kf + i * hd + d, Row::load16(k, d));
    }
    for (int g = 0; g < NQ; ++g) {
      __m512 rows[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) rows[i] = Lanes::row(q + g * hd, kf + i * hd, hd);
      _mm512_mask_storeu_ps(j.scores + g * j.n_kv + r0, avx512::first_lanes(n),
                            avx512::tree16_x16(rows));
    }
  }
}

}  // namespace autoglm::cpu::attn

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // __x86_64__
