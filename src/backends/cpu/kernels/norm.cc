#include "backends/cpu/kernels/norm.h"

#include <cmath>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/isa.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

// Squares rounded to float, summed in double, as ggml does: the same mean to the last bit keeps
// the next matmul's 8-bit activations identical to llama.cpp's.
double sum_squares_scalar(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  return sum;
}

#if defined(__x86_64__)
AUTOGLM_AVX2 double sum_squares_avx2(const float* x, int64_t n) {
  __m256d acc0 = _mm256_setzero_pd();
  __m256d acc1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sq = _mm256_mul_ps(v, v);
    acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
    acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
  }
  const __m256d acc = _mm256_add_pd(acc0, acc1);
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s) + sum_squares_scalar(x + i, n - i);
}
#endif

#if defined(__aarch64__)
double sum_squares_neon(const float* x, int64_t n) {
  float64x2_t acc0 = vdupq_n_f64(0.0);
  float64x2_t acc1 = vdupq_n_f64(0.0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    const float32x4_t sq = vmulq_f32(v, v);
    acc0 = vaddq_f64(acc0, vcvt_f64_f32(vget_low_f32(sq)));
    acc1 = vaddq_f64(acc1, vcvt_high_f64_f32(sq));
  }
  return vaddvq_f64(vaddq_f64(acc0, acc1)) + sum_squares_scalar(x + i, n - i);
}
#endif

// Squares summed with the widest SIMD the level has.
double sum_squares(const float* x, int64_t n, Isa isa) {
#if defined(__x86_64__)
  if (has_avx2(isa)) return sum_squares_avx2(x, n);
#elif defined(__aarch64__)
  if (has_neon(isa)) return sum_squares_neon(x, n);
#endif
  return sum_squares_scalar(x, n);
}

}  // namespace

void rms_norm(const float* x, float* y, int64_t rows, int64_t n, float eps, int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(rows, ith, nth, &r0, &r1);
  const Isa isa = active_isa();
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * n;  // [n]
    float* yr = y + r * n;        // [n]
    const double ss = sum_squares(xr, n, isa);
    const float mean = static_cast<float>(ss / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale;
  }
}

}  // namespace autoglm::cpu
