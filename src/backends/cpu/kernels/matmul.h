// Matrix multiplication of quantized or float weights with activations converted to the
// weight's partner type (ggml's vec_dot_type), as integer or f32 dot products per block.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/quant.h"

namespace autoglm::cpu {

using autoglm::matmul_activation_type;  // core/quant.h
// True for the six weight types above.
bool matmul_supports(DType weight);

// Converts one row of n floats to act (F32, F16, BF16, or Q8_0 / Q8_1 with n a multiple of 32)
// by the fastest path the CPU has, byte for byte as quantize_row_activation writes it.
void convert_row(DType act, const float* x, void* out, int64_t n);

// Converts activations for matmul; parallel over rows, or over blocks of a row when rows < nth.
// x: [rows, k] f32 (row stride k) → out: rows of dtype_row_bytes(act, k) bytes each.
void convert_activations(const float* x, int64_t rows, int64_t k, DType act, void* out, int ith,
                         int nth);

// y[t][n] = sum_i w[n][i] * x[t][i].
// w: [n_out, k] in wtype, row stride w_row_bytes; xq: [n_tok, k] in matmul_activation_type(wtype),
// contiguous rows; y: [n_tok, n_out] f32, row stride y_stride floats. k must be a multiple of 32
// for quantized weights. Parallel over output rows, or over tokens when n_out is small.
void matmul(DType wtype, const void* w, size_t w_row_bytes, const void* xq, int64_t n_tok,
            int64_t n_out, int64_t k, float* y, int64_t y_stride, int ith, int nth);

}  // namespace autoglm::cpu
