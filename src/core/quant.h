// Scalar reference quantization, byte-exact with ggml's *_ref routines (the bytes GGUF files hold).
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace autoglm {

// True for the types quantize_row/dequantize_row handle: F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q8_1.
bool quant_row_supported(DType type);

// Quantize n floats into `type` (n a multiple of the block size). x: [n] → out:
// dtype_row_bytes(type, n). Calling it with an unsupported type is a programming error and aborts.
void quantize_row(DType type, const float* x, void* out, int64_t n);

// The activation type a matmul pairs with a weight type (ggml's vec_dot_type), shared by every
// backend so they quantize activations alike: Q4_0→Q8_0, Q4_1→Q8_1, Q8_0→Q8_0, float types
// pair with themselves.
DType matmul_activation_type(DType weight);

// Quantize activations for a matmul as ggml's SIMD paths do at run time: Q8_0/Q8_1 blocks use
// scale 127/amax and round half to even (quantize_row is the file format's reference rounding,
// halves away from zero). Other types as quantize_row.
void quantize_row_activation(DType type, const float* x, void* out, int64_t n);

// Dequantize n elements of `type` into floats. x: dtype_row_bytes(type, n) → out: [n].
void dequantize_row(DType type, const void* x, float* out, int64_t n);

}  // namespace autoglm
