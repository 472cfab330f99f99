// Kernels for ops the fusion passes create. Each equals its unfused pair bit for bit: the same
// per-element arithmetic, only fewer dispatches and one pass over the data.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

// y = rms_norm(x) * w. x, y: [rows, n] (may alias); w: [n]. Parallel over rows.
void rms_norm_mul(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps,
                  int ith, int nth);

// y = silu(gate) * up. gate, up, y: [n] (y may alias either). Parallel over elements.
void swiglu(const float* gate, const float* up, float* y, int64_t n, int ith, int nth);

}  // namespace autoglm::cpu
