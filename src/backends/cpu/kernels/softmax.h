// Row softmax.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

// y = softmax(x * scale) per row, with max subtraction; x, y: [rows, n] (may alias).
// Parallel over rows.
void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale, int ith, int nth);

// One row on the calling thread (for kernels that fuse softmax, e.g. attention). x, y: [n].
void softmax_row(const float* x, float* y, int64_t n, float scale);

#if defined(__x86_64__)
// Softmax of each row of s ([rows, stride], the first n used) in place, with llama.cpp's x86
// (AVX-512) rounding, each probability then rounded to F16: as llama.cpp's attention stores them
// before multiplying V. For kernels that follow its attention numerics; needs AVX2 and FMA.
void softmax_rows_ggml_f16(float* s, int64_t rows, int64_t stride, int64_t n, float scale);
#endif

}  // namespace autoglm::cpu
