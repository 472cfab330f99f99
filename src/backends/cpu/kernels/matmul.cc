#include "backends/cpu/kernels/matmul.h"

#include <algorithm>
#include <cstdlib>

#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/matmul_avx2.h"
#include "backends/cpu/kernels/matmul_avx512.h"
#include "backends/cpu/kernels/matmul_neon.h"
#include "backends/cpu/kernels/quantize_avx512.h"
#include "core/half.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

// ---- scalar reference dot products (ggml's generic vec_dot order) ----

float dot_q4_0_q8_0(const BlockQ4_0* w, const BlockQ8_0* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      sumi += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j];
      sumi += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + kQK4_0 / 2];
    }
    sum += static_cast<float>(sumi) * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d));
  }
  return sum;
}

float dot_q4_1_q8_1(const BlockQ4_1* w, const BlockQ8_1* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      sumi += (w[b].qs[j] & 0x0f) * x[b].qs[j];
      sumi += (w[b].qs[j] >> 4) * x[b].qs[j + kQK4_1 / 2];
    }
    sum += static_cast<float>(sumi) * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d)) +
           fp16_to_fp32(w[b].m) * fp16_to_fp32(x[b].s);
  }
  return sum;
}

float dot_q8_0_q8_0(const BlockQ8_0* w, const BlockQ8_0* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK8_0; ++j) sumi += w[b].qs[j] * x[b].qs[j];
    sum += static_cast<float>(sumi) * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d));
  }
  return sum;
}

template <float (*Convert)(uint16_t)>
float dot_half(const uint16_t* w, const uint16_t* x, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k; ++i) sum += Convert(w[i]) * Convert(x[i]);
  return sum;
}

float dot_f32(const float* w, const float* x, int64_t k) {
  float sum = 0.0f;
  for (int64_t i = 0; i < k; ++i) sum += w[i] * x[i];
  return sum;
}

float dot_row(DType wtype, const uint8_t* w, const uint8_t* x, int64_t k) {
  switch (wtype) {
    case DType::Q4_0:
      return dot_q4_0_q8_0(reinterpret_cast<const BlockQ4_0*>(w),
                           reinterpret_cast<const BlockQ8_0*>(x), k / 32);
    case DType::Q4_1:
      return dot_q4_1_q8_1(reinterpret_cast<const BlockQ4_1*>(w),
                           reinterpret_cast<const BlockQ8_1*>(x), k / 32);
    case DType::Q8_0:
      return dot_q8_0_q8_0(reinterpret_cast<const BlockQ8_0*>(w),
                           reinterpret_cast<const BlockQ8_0*>(x), k / 32);
    case DType::F16:
      return dot_half<fp16_to_fp32>(reinterpret_cast<const uint16_t*>(w),
                                    reinterpret_cast<const uint16_t*>(x), k);
    case DType::BF16:
      return dot_half<bf16_to_fp32>(reinterpret_cast<const uint16_t*>(w),
                                    reinterpret_cast<const uint16_t*>(x), k);
    case DType::F32:
      return dot_f32(reinterpret_cast<const float*>(w), reinterpret_cast<const float*>(x), k);
    default:
      std::abort();
  }
}

// Row-outer so each weight row is read from memory once and stays in L1 across the tokens.
void matmul_range_scalar(DType wtype, const uint8_t* w, size_t w_row_bytes, const uint8_t* xq,
                         int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0,
                         int64_t t1) {
  const size_t x_row_bytes = dtype_row_bytes(matmul_activation_type(wtype), k);
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t t = t0; t < t1; ++t) {
      y[t * y_stride + r] = dot_row(wtype, w + r * w_row_bytes, xq + t * x_row_bytes, k);
    }
  }
}

}  // namespace

bool matmul_supports(DType weight) {
  switch (weight) {
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q8_0:
    case DType::F16:
    case DType::BF16:
    case DType::F32:
      return true;
    default:
      return false;
  }
}

void convert_row(DType act, const float* x, void* out, int64_t n) {
#if defined(__x86_64__)
  if (has_avx512(active_isa()) && avx512::quantize_activations(act, x, out, n)) return;
  if (has_avx2(active_isa()) && act != DType::BF16 && act != DType::F32) {
    return avx2::convert_row(act, x, out, n);
  }
#endif
  quantize_row_activation(act, x, out, n);
}

void convert_activations(const float* x, int64_t rows, int64_t k, DType act, void* out, int ith,
                         int nth) {
  const size_t row_bytes = dtype_row_bytes(act, k);
  auto* o = static_cast<uint8_t*>(out);
  if (rows >= nth) {
    int64_t r0, r1;
    ThreadPool::split(rows, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; ++r) convert_row(act, x + r * k, o + r * row_bytes, k);
    return;
  }
  // Few rows (decode): split each row into runs of 32 elements so every thread helps.
  const int64_t units = (k + 31) / 32;
  int64_t u0, u1;
  ThreadPool::split(units, ith, nth, &u0, &u1);
  if (u0 >= u1) return;
  const int64_t e0 = u0 * 32;
  const int64_t e1 = std::min(k, u1 * 32);
  const size_t offset = dtype_row_bytes(act, e0);
  for (int64_t r = 0; r < rows; ++r) {
    convert_row(act, x + r * k + e0, o + r * row_bytes + offset, e1 - e0);
  }
}

void matmul(DType wtype, const void* w, size_t w_row_bytes, const void* xq, int64_t n_tok,
            int64_t n_out, int64_t k, float* y, int64_t y_stride, int ith, int nth) {
  // Rows in units of 4 keep tiles whole; with too few rows per thread, split tokens instead.
  constexpr int64_t kMinRowsPerThread = 8;
  int64_t r0 = 0, r1 = n_out, t0 = 0, t1 = n_tok;
  if (n_tok > 1 && n_out < kMinRowsPerThread * nth) {
    ThreadPool::split(n_tok, ith, nth, &t0, &t1);
  } else {
    int64_t u0, u1;
    ThreadPool::split((n_out + 3) / 4, ith, nth, &u0, &u1);
    r0 = std::min(n_out, u0 * 4);
    r1 = std::min(n_out, u1 * 4);
  }
  if (r0 >= r1 || t0 >= t1) return;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(xq);
  const Isa isa = active_isa();
#if defined(__x86_64__)
  if (has_avx512(isa)) {
    static const bool bf16 = __builtin_cpu_supports("avx512bf16");
    const size_t xrb = dtype_row_bytes(matmul_activation_type(wtype), k);
    if (avx512::matmul_range(wtype, wb, w_row_bytes, xb, xrb, k, y, y_stride, r0, r1, t0, t1,
                             has_vnni(isa), bf16)) {
      return;
    }
  }
  if (has_avx2(isa)) {
    return avx2::matmul_range(wtype, wb, w_row_bytes, xb, k, y, y_stride, r0, r1, t0, t1);
  }
#elif defined(__aarch64__)
  if (has_neon(isa)) {
    const size_t xrb = dtype_row_bytes(matmul_activation_type(wtype), k);
    return neon::matmul_range(wtype, wb, w_row_bytes, xb, xrb, k, y, y_stride, r0, r1, t0, t1,
                              isa == Isa::NeonDot);
  }
#endif
  matmul_range_scalar(wtype, wb, w_row_bytes, xb, k, y, y_stride, r0, r1, t0, t1);
}

}  // namespace autoglm::cpu
