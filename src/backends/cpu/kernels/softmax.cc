#include "backends/cpu/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/avx512_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/neon_math.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

void softmax_row_scalar(const float* x, float* y, int64_t n, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i] * scale);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] * scale - max);
    sum += y[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

#if defined(__x86_64__)
// max(x * scale) over the row.
AUTOGLM_AVX2 float scaled_max_avx2(const float* x, int64_t n, float scale) {
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    vmax = _mm256_max_ps(vmax, _mm256_mul_ps(_mm256_loadu_ps(x + i), vscale));
  float max = avx2::hmax(vmax);
  for (; i < n; ++i) max = std::max(max, x[i] * scale);
  return max;
}

AUTOGLM_AVX2 void softmax_row_avx2(const float* x, float* y, int64_t n, float scale) {
  const __m256 vscale = _mm256_set1_ps(scale);
  const float max = scaled_max_avx2(x, n, scale);
  int64_t i = 0;
  const __m256 vshift = _mm256_set1_ps(max);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vscale), vshift);
    const __m256 e = avx2::exp(v);
    _mm256_storeu_ps(y + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = avx2::hsum(vsum);
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] * scale - max);
    sum += y[i];
  }
  const __m256 vinv = _mm256_set1_ps(1.0f / sum);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vinv));
  for (; i < n; ++i) y[i] *= 1.0f / sum;
}

// llama.cpp's softmax as its AVX-512 build runs it over a row of attention scores (padded to a
// multiple of 16 with masked, zero-probability positions): exponentials from ggml_v_expf, each
// 16-lane chunk summed in the tree order of a 512-bit horizontal add (lanes i + i+8, then
// + i+4, + i+2, lane 0 + lane 1) and added to a double; the row is scaled by float(1 / sum).
AUTOGLM_AVX2 void softmax_row_ggml_avx2(const float* x, float* y, int64_t n, float scale) {
  const __m256 vscale = _mm256_set1_ps(scale);
  const int64_t n16 = n / 16 * 16;
  const __m256 vshift = _mm256_set1_ps(scaled_max_avx2(x, n, scale));
  // One 16-lane chunk of exponentials (lanes past n are -inf: probability 0) and its tree sum.
  const auto chunk = [&](const float* src, float* dst) AUTOGLM_AVX2 {
    // llama.cpp scales the row in one pass and subtracts the max in the next: the barrier
    // keeps the compiler from fusing the two roundings into one FMA.
    __m256 lo = _mm256_mul_ps(_mm256_loadu_ps(src), vscale);
    __m256 hi = _mm256_mul_ps(_mm256_loadu_ps(src + 8), vscale);
    asm("" : "+x"(lo), "+x"(hi));
    lo = avx2::exp_ggml512(_mm256_sub_ps(lo, vshift));
    hi = avx2::exp_ggml512(_mm256_sub_ps(hi, vshift));
    _mm256_storeu_ps(dst, lo);
    _mm256_storeu_ps(dst + 8, hi);
    return static_cast<double>(avx2::hsum(_mm256_add_ps(lo, hi)));
  };
  double sum = 0.0;
  for (int64_t i = 0; i < n16; i += 16) sum += chunk(x + i, y + i);
  if (n16 < n) {
    float tail[16];
    for (int64_t l = 0; l < 16; ++l) {
      tail[l] = n16 + l < n ? x[n16 + l] : -std::numeric_limits<float>::infinity();
    }
    sum += chunk(tail, tail);
    std::copy(tail, tail + (n - n16), y + n16);
  }
  const __m256 vinv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vinv));
  for (; i < n; ++i) y[i] *= _mm256_cvtss_f32(vinv);
}

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// The same rows with 16 lanes to a register: every lane sees the AVX2 code's operations (the
// exponential's steps one for one, the chunk's tree sum as _mm512_reduce_add_ps adds), so the
// bits are the same, in about half the instructions. Up to kRows rows go side by side, chunk by
// chunk: their exponentials and sums are independent chains (a short row alone waits on each
// chunk's latency). The probabilities are rounded to F16 in the pass that scales by 1 / sum.
AUTOGLM_AVX512 void softmax_rows_ggml_f16_avx512(float* s, int64_t rows, int64_t stride, int64_t n,
                                                 float scale) {
  constexpr int64_t kRows = 4;
  const __m512 vscale = _mm512_set1_ps(scale);
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t nr = std::min(kRows, rows - r0);
    __m512 shift[kRows];
    double sum[kRows];
    for (int64_t g = 0; g < nr; ++g) {
      shift[g] = _mm512_set1_ps(scaled_max_avx2(s + (r0 + g) * stride, n, scale));
      sum[g] = 0.0;
    }
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 keep = avx512::first_lanes(n - i);  // lanes past n: -inf, probability 0
      for (int64_t g = 0; g < nr; ++g) {
        float* row = s + (r0 + g) * stride;
        __m512 v = _mm512_mul_ps(_mm512_mask_loadu_ps(neg_inf, keep, row + i), vscale);
        asm("" : "+v"(v));  // scale, then subtract: two roundings, as llama.cpp's two passes
        v = avx512::exp_ggml512(_mm512_sub_ps(v, shift[g]));
        _mm512_mask_storeu_ps(row + i, keep, v);
        sum[g] += static_cast<double>(_mm512_reduce_add_ps(v));
      }
    }
    for (int64_t g = 0; g < nr; ++g) {
      float* row = s + (r0 + g) * stride;
      const __m512 vinv = _mm512_set1_ps(static_cast<float>(1.0 / sum[g]));
      for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 keep = avx512::first_lanes(n - i);
        const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(keep, row + i), vinv);
        _mm512_mask_storeu_ps(row + i, keep,
                              _mm512_cvtph_ps(_mm512_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT)));
      }
    }
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

#if defined(__aarch64__)
void softmax_row_neon(const float* x, float* y, int64_t n, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  float32x4_t vmax = vdupq_n_f32(max);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vmulq_n_f32(vld1q_f32(x + i), scale));
  max = vmaxvq_f32(vmax);
  for (; i < n; ++i) max = std::max(max, x[i] * scale);
  const float32x4_t vshift = vdupq_n_f32(max);
  float32x4_t vsum = vdupq_n_f32(0.0f);
  for (i = 0; i + 4 <= n; i += 4) {
    const float32x4_t e = neon::exp(vsubq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vshift));
    vst1q_f32(y + i, e);
    vsum = vaddq_f32(vsum, e);
  }
  float sum = vaddvq_f32(vsum);
  for (; i < n; ++i) {
    y[i] = std::exp(x[i] * scale - max);
    sum += y[i];
  }
  const float inv = 1.0f / sum;
  for (i = 0; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), inv));
  for (; i < n; ++i) y[i] *= inv;
}
#endif

}  // namespace

void softmax_row(const float* x, float* y, int64_t n, float scale) {
#if defined(__x86_64__)
  if (has_avx2(active_isa())) return softmax_row_avx2(x, y, n, scale);
#elif defined(__aarch64__)
  if (has_neon(active_isa())) return softmax_row_neon(x, y, n, scale);
#endif
  softmax_row_scalar(x, y, n, scale);
}

#if defined(__x86_64__)
void softmax_rows_ggml_f16(float* s, int64_t rows, int64_t stride, int64_t n, float scale) {
  if (has_avx512(active_isa())) return softmax_rows_ggml_f16_avx512(s, rows, stride, n, scale);
  for (int64_t r = 0; r < rows; ++r) {
    softmax_row_ggml_avx2(s + r * stride, s + r * stride, n, scale);
    avx2::round_to_f16(s + r * stride, s + r * stride, n);
  }
}
#endif

void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale, int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(rows, ith, nth, &r0, &r1);
  for (int64_t r = r0; r < r1; ++r) softmax_row(x + r * n, y + r * n, n, scale);
}

}  // namespace autoglm::cpu
