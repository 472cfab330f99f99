#include "backends/cpu/kernels/norm.h"

#include <cmath>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/isa.h"
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

}  // namespace

void rms_norm(const float* x, float* y, int64_t rows, int64_t n, float eps, int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(rows, ith, nth, &r0, &r1);
#if defined(__x86_64__)
  const bool avx2 = has_avx2(active_isa());
#endif
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * n;  // [n]
    float* yr = y + r * n;        // [n]
#if defined(__x86_64__)
    const double ss = avx2 ? sum_squares_avx2(xr, n) : sum_squares_scalar(xr, n);
#else
    const double ss = sum_squares_scalar(xr, n);
#endif
    const float mean = static_cast<float>(ss / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale;
  }
}

}  // namespace autoglm::cpu
