// AVX2 halves of matmul.cc (internal): declared on x86_64 only, called after an active_isa() check.
// At a VNNI level (has_vnni) the int8 block dots use vpdpbusd instead of maddubs + madd.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

#if defined(__x86_64__)
namespace autoglm::cpu::avx2 {

// Converts n f32 (n a multiple of 32 for Q8_0/Q8_1) to `act`; bytes equal quantize_row's.
void convert_row(DType act, const float* x, void* out, int64_t n);

// y[t][r] for rows [r0, r1) and tokens [t0, t1); same layouts as cpu::matmul.
void matmul_range(DType wtype, const void* w, size_t w_row_bytes, const void* xq, int64_t k,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

}  // namespace autoglm::cpu::avx2
#endif
