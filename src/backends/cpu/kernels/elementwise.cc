#include "backends/cpu/kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/avx512_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/neon_math.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

// Thread ith's share of n elements, in runs of 16 so threads never share a cache line.
void split_elements(int64_t n, int ith, int nth, int64_t* e0, int64_t* e1) {
  int64_t u0, u1;
  ThreadPool::split((n + 15) / 16, ith, nth, &u0, &u1);
  *e0 = std::min(n, u0 * 16);
  *e1 = std::min(n, u1 * 16);
}

// Walks this thread's element range one row segment at a time; op sees contiguous spans.
template <typename Op>
void binary(const float* a, const float* b, float* y, int64_t rows, int64_t n, int64_t b_rows,
            int ith, int nth, Op op) {
  int64_t e0, e1;
  split_elements(rows * n, ith, nth, &e0, &e1);
  while (e0 < e1) {
    const int64_t row = e0 / n;
    const int64_t col = e0 % n;
    const int64_t len = std::min(e1 - e0, n - col);
    const float* br = b + (b_rows == 1 ? 0 : row * n) + col;
    op(a + e0, br, y + e0, len);
    e0 += len;
  }
}

float silu_scalar(float x, const float* up) {
  const float s = x / (1.0f + std::exp(-x));
  return up ? s * *up : s;
}

// y = op(a, b) four floats at a time, in SSE or NEON registers through GCC/Clang vector
// extensions (GCC 12 at -O2 leaves the plain loop scalar: it will not add the tail a vector loop
// needs).
using V4 = float __attribute__((vector_size(16)));

template <typename Op>
inline void each4(const float* a, const float* b, float* y, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V4 va, vb;
    std::memcpy(&va, a + i, sizeof(va));
    std::memcpy(&vb, b + i, sizeof(vb));
    const V4 vy = op(va, vb);
    std::memcpy(y + i, &vy, sizeof(vy));
  }
  for (; i < n; ++i) y[i] = op(a[i], b[i]);
}

#if defined(__x86_64__)
// x / (1 + exp(-x)) with llama.cpp's AVX-512 exponential (ggml_v_silu), the tail too, so every
// element rounds as llama.cpp's SwiGLU does.
AUTOGLM_AVX2 inline __m256 silu8(__m256 v) {
  const __m256 e = avx2::exp_ggml512(_mm256_sub_ps(_mm256_setzero_ps(), v));
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// y = silu(x), times up when up is not null (SwiGLU: the product rounded after silu, as
// llama.cpp's two steps do).
AUTOGLM_AVX2 void silu_avx2(const float* x, const float* up, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 s = silu8(_mm256_loadu_ps(x + i));
    if (up) s = _mm256_mul_ps(s, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(y + i, s);
  }
  if (i == n) return;
  alignas(32) float tail[8] = {};
  std::copy(x + i, x + n, tail);
  _mm256_store_ps(tail, silu8(_mm256_load_ps(tail)));
  for (int64_t j = 0; j < n - i; ++j) y[i + j] = up ? tail[j] * up[i + j] : tail[j];
}

// silu_avx2 on 16 lanes: the same operations lane for lane.
AUTOGLM_AVX512 void silu_avx512(const float* x, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 keep = avx512::first_lanes(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(keep, x + i);
    const __m512 e = avx512::exp_ggml512(_mm512_sub_ps(_mm512_setzero_ps(), v));
    __m512 s = _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    if (up) s = _mm512_mul_ps(s, _mm512_maskz_loadu_ps(keep, up + i));
    _mm512_mask_storeu_ps(y + i, keep, s);
  }
}
#endif

#if defined(__aarch64__)
void silu_neon(const float* x, const float* up, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    const float32x4_t e = neon::exp(vnegq_f32(v));
    float32x4_t s = vdivq_f32(v, vaddq_f32(vdupq_n_f32(1.0f), e));
    if (up) s = vmulq_f32(s, vld1q_f32(up + i));
    vst1q_f32(y + i, s);
  }
  for (; i < n; ++i) y[i] = silu_scalar(x[i], up ? up + i : nullptr);
}
#endif

}  // namespace

void mul(const float* a, const float* b, float* y, int64_t rows, int64_t n, int64_t b_rows, int ith,
         int nth) {
  binary(a, b, y, rows, n, b_rows, ith, nth,
         [](const float* pa, const float* pb, float* py, int64_t len) {
           each4(pa, pb, py, len, [](auto u, auto v) { return u * v; });
         });
}

void add(const float* a, const float* b, float* y, int64_t rows, int64_t n, int64_t b_rows, int ith,
         int nth) {
  binary(a, b, y, rows, n, b_rows, ith, nth,
         [](const float* pa, const float* pb, float* py, int64_t len) {
           each4(pa, pb, py, len, [](auto u, auto v) { return u + v; });
         });
}

void silu_mul(const float* x, const float* up, float* y, int64_t n, int ith, int nth) {
  int64_t e0, e1;
  split_elements(n, ith, nth, &e0, &e1);
  const float* u = up ? up + e0 : nullptr;
#if defined(__x86_64__)
  if (has_avx512(active_isa())) return silu_avx512(x + e0, u, y + e0, e1 - e0);
  if (has_avx2(active_isa())) return silu_avx2(x + e0, u, y + e0, e1 - e0);
#elif defined(__aarch64__)
  if (has_neon(active_isa())) return silu_neon(x + e0, u, y + e0, e1 - e0);
#endif
  for (int64_t i = e0; i < e1; ++i) y[i] = silu_scalar(x[i], up ? up + i : nullptr);
}

void silu(const float* x, float* y, int64_t n, int ith, int nth) {
  silu_mul(x, nullptr, y, n, ith, nth);
}

}  // namespace autoglm::cpu
