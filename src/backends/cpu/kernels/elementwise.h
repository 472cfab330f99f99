// Element-wise kernels. All parallel over elements, so a single decode row still splits.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

// y = a * b. a, y: [rows, n]; b: [b_rows, n] with b_rows == rows, or 1 to broadcast one row.
void mul(const float* a, const float* b, float* y, int64_t rows, int64_t n, int64_t b_rows, int ith,
         int nth);
// y = a + b, same shapes and broadcast as mul.
void add(const float* a, const float* b, float* y, int64_t rows, int64_t n, int64_t b_rows, int ith,
         int nth);
// y = x * sigmoid(x). x, y: [n].
void silu(const float* x, float* y, int64_t n, int ith, int nth);
// y = silu(x) * up, each product rounded after silu as silu then mul would. up, y: [n]; y may
// alias x or up.
void silu_mul(const float* x, const float* up, float* y, int64_t n, int ith, int nth);

}  // namespace autoglm::cpu
