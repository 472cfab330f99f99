#include "backends/cpu/kernels/fused.h"

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
  silu_mul(gate, up, y, n, ith, nth);
}

}  // namespace autoglm::cpu
