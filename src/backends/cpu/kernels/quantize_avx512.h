// Activation quantization for the matmuls on AVX-512 (internal): declared on x86_64 only and
// called after an active_isa() check.
#pragma once

#include <cstdint>

#include "core/dtype.h"

#if defined(__x86_64__)
namespace autoglm::cpu::avx512 {

// n floats (a multiple of 32) into Q8_0 or Q8_1 blocks, byte for byte as
// quantize_row_activation writes them. False, writing nothing, for another type.
bool quantize_activations(DType act, const float* x, void* out, int64_t n);

}  // namespace autoglm::cpu::avx512
#endif
