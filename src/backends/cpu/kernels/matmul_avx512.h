// AVX-512 halves of matmul.cc (internal): declared on x86_64 only, called after an active_isa()
// check. matmul_avx512.cc is compiled with AVX-512 flags, so nothing else may be defined in it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

#if defined(__x86_64__)
namespace autoglm::cpu::avx512 {

// y[t][r] for rows [r0, r1) and tokens [t0, t1); same layouts as cpu::matmul, xrb = bytes per
// activation row. vnni selects vpdpbusd for the int8 dots, bf16 vdpbf16ps for BF16 weights.
// Returns false (writing nothing) for a problem this level leaves to the AVX2 kernels.
bool matmul_range(DType wtype, const void* w, size_t w_row_bytes, const void* xq, size_t xrb,
                  int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0,
                  int64_t t1, bool vnni, bool bf16);

}  // namespace autoglm::cpu::avx512
#endif
