// Normalization kernels.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

// y = x / sqrt(mean(x^2) + eps), per row. x, y: [rows, n] (may alias). Parallel over rows.
void rms_norm(const float* x, float* y, int64_t rows, int64_t n, float eps, int ith, int nth);

}  // namespace autoglm::cpu
