#include "backends/cpu/kernels/fused.h"

#include <algorithm>

#include "backends/cpu/kernels/elementwise.h"
#include "backends/cpu/kernels/norm.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {

void rms_norm_mul(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps,
                  int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(rows, ith, nth, &r0, &r1);
  if (r0 >= r1) return;
  rms_norm(x + r0 * n, y + r0 * n, r1 - r0, n, eps, 0, 1);
  mul(y + r0 * n, w, y + r0 * n, r1 - r0, n, 1, 0, 1);
}

void swiglu(const float* gate, const float* up, float* y, int64_t n, int ith, int nth) {
  // Parts start on multiples of 64 so vector bodies and scalar tails fall where an unsplit
  // call puts them.
  constexpr int64_t kAlign = 64;
  const int64_t chunks = (n + kAlign - 1) / kAlign;
  int64_t c0, c1;
  ThreadPool::split(chunks, ith, nth, &c0, &c1);
  const int64_t e0 = c0 * kAlign, e1 = std::min(n, c1 * kAlign);
  if (e0 >= e1) return;
  silu(gate + e0, y + e0, e1 - e0, 0, 1);
  mul(y + e0, up + e0, y + e0, 1, e1 - e0, 1, 0, 1);
}

}  // namespace autoglm::cpu
