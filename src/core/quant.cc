#include "core/quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/half.h"

namespace autoglm {
namespace {

// Scale from the signed value of largest magnitude, so that value maps exactly to -8.
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK4_0) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      // Truncation after +8.5 rounds half up; the value past 15 (only at max) clamps.
      const int lo = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[j + kQK4_0 / 2] * id + 8.5f));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK4_1) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK4_1; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].m = fp32_to_fp16(min);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int lo = std::min(15, static_cast<int>((x[j] - min) * id + 0.5f));
      const int hi = std::min(15, static_cast<int>((x[j + kQK4_1 / 2] - min) * id + 0.5f));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

// Two roundings of 8-bit blocks exist in ggml and both matter: files hold the reference one
// (scale 1/d, halves away from zero); every SIMD matmul quantizes activations at run time with
// scale 127/amax and round-half-to-even. Matching each where it is used keeps the engine's
// numbers on llama.cpp's.
enum class Q8Rounding { Reference, Activation };

template <Q8Rounding R>
float q8_scale(const float* x, float* inv) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  if constexpr (R == Q8Rounding::Reference) {
    *inv = d != 0.0f ? 1.0f / d : 0.0f;
  } else {
    *inv = amax != 0.0f ? 127.0f / amax : 0.0f;
  }
  return d;
}

template <Q8Rounding R>
int8_t q8_round(float v) {
  if constexpr (R == Q8Rounding::Reference) return static_cast<int8_t>(std::roundf(v));
  return static_cast<int8_t>(std::nearbyintf(v));  // default mode: nearest, ties to even
}

template <Q8Rounding R>
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK8_0) {
    float id;
    y[b].d = fp32_to_fp16(q8_scale<R>(x, &id));
    for (int j = 0; j < kQK8_0; ++j) y[b].qs[j] = q8_round<R>(x[j] * id);
  }
}

// s uses the unrounded f32 scale, as ggml does.
template <Q8Rounding R>
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK8_1) {
    float id;
    const float d = q8_scale<R>(x, &id);
    int sum = 0;
    for (int j = 0; j < kQK8_1; ++j) {
      y[b].qs[j] = q8_round<R>(x[j] * id);
      sum += y[b].qs[j];
    }
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += kQK4_0) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = static_cast<float>((x[b].qs[j] & 0x0f) - 8) * d;
      y[j + kQK4_0 / 2] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += kQK4_1) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      y[j] = static_cast<float>(x[b].qs[j] & 0x0f) * d + m;
      y[j + kQK4_1 / 2] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
    }
  }
}

template <typename Block>
void dequantize_q8(const Block* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += 32) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

}  // namespace

bool quant_row_supported(DType type) {
  switch (type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q8_0:
    case DType::Q8_1:
      return true;
    default:
      return false;
  }
}

void quantize_row(DType type, const float* x, void* out, int64_t n) {
  const int64_t nb = n / 32;
  switch (type) {
    case DType::F32:
      std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      auto* y = static_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
      return;
    }
    case DType::BF16: {
      auto* y = static_cast<uint16_t*>(out);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
      return;
    }
    case DType::Q4_0:
      return quantize_q4_0(x, static_cast<BlockQ4_0*>(out), nb);
    case DType::Q4_1:
      return quantize_q4_1(x, static_cast<BlockQ4_1*>(out), nb);
    case DType::Q8_0:
      return quantize_q8_0<Q8Rounding::Reference>(x, static_cast<BlockQ8_0*>(out), nb);
    case DType::Q8_1:
      return quantize_q8_1<Q8Rounding::Reference>(x, static_cast<BlockQ8_1*>(out), nb);
    default:
      std::abort();
  }
}

void dequantize_row(DType type, const void* x, float* out, int64_t n) {
  const int64_t nb = n / 32;
  switch (type) {
    case DType::F32:
      std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* h = static_cast<const uint16_t*>(x);
      for (int64_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(h[i]);
      return;
    }
    case DType::BF16: {
      const auto* h = static_cast<const uint16_t*>(x);
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(h[i]);
      return;
    }
    case DType::Q4_0:
      return dequantize_q4_0(static_cast<const BlockQ4_0*>(x), out, nb);
    case DType::Q4_1:
      return dequantize_q4_1(static_cast<const BlockQ4_1*>(x), out, nb);
    case DType::Q8_0:
      return dequantize_q8(static_cast<const BlockQ8_0*>(x), out, nb);
    case DType::Q8_1:
      return dequantize_q8(static_cast<const BlockQ8_1*>(x), out, nb);
    default:
      std::abort();
  }
}

void quantize_row_activation(DType type, const float* x, void* out, int64_t n) {
  switch (type) {
    case DType::Q8_0:
      return quantize_q8_0<Q8Rounding::Activation>(x, static_cast<BlockQ8_0*>(out), n / 32);
    case DType::Q8_1:
      return quantize_q8_1<Q8Rounding::Activation>(x, static_cast<BlockQ8_1*>(out), n / 32);
    default:
      return quantize_row(type, x, out, n);
  }
}

DType matmul_activation_type(DType weight) {
  switch (weight) {
    case DType::Q4_0:
    case DType::Q8_0:
      return DType::Q8_0;
    case DType::Q4_1:
      return DType::Q8_1;
    default:
      return weight;
  }
}

}  // namespace autoglm
