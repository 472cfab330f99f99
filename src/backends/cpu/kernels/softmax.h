// Row softmax.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

// y = softmax(x * scale) per row, with max subtraction; x, y: [rows, n] (may alias).
// Parallel over rows.
void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale, int ith, int nth);

// One row on the calling thread (for kernels that fuse softmax, e.g. attention). x, y: [n].
void softmax_row(const float* x, float* y, int64_t n, float scale);

}  // namespace autoglm::cpu
