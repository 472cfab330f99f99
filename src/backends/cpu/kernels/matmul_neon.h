// NEON halves of matmul.cc (internal): declared on aarch64 only, called after an active_isa()
// check.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

#if defined(__aarch64__)
namespace autoglm::cpu::neon {

// y[t][r] for rows [r0, r1) and tokens [t0, t1); same layouts as cpu::matmul, xrb = bytes per
// activation row. dotprod selects sdot for the int8 dots (only when HWCAP reports it).
void matmul_range(DType wtype, const void* w, size_t w_row_bytes, const void* xq, size_t xrb,
                  int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0,
                  int64_t t1, bool dotprod);

// The same with sdot (matmul_neon_dotprod.cc); only for CPUs whose HWCAP reports dotprod.
void matmul_range_dotprod(DType wtype, const void* w, size_t w_row_bytes, const void* xq,
                          size_t xrb, int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1,
                          int64_t t0, int64_t t1);

}  // namespace autoglm::cpu::neon
#endif
