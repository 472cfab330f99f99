// The sdot instantiation of the NEON tiles; this file alone is compiled with
// -march=armv8.2-a+dotprod (CMakeLists.txt) and runs only when HWCAP reports dotprod.
#include "backends/cpu/kernels/matmul_neon.h"

#if defined(__aarch64__)
#include "backends/cpu/kernels/matmul_neon_tiles.h"

namespace autoglm::cpu::neon {

void matmul_range_dotprod(DType wtype, const void* w, size_t w_row_bytes, const void* xq,
                          size_t xrb, int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1,
                          int64_t t0, int64_t t1) {
  matmul_range_impl<Dot::Sdot>(wtype, w, w_row_bytes, xq, xrb, k, y, y_stride, r0, r1, t0, t1);
}

}  // namespace autoglm::cpu::neon
#endif  // __aarch64__
