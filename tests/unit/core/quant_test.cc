#include "core/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"

namespace autoglm {
namespace {

std::vector<uint8_t> quantize(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(dtype_row_bytes(t, static_cast<int64_t>(x.size())));
  quantize_row(t, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> dequantize(DType t, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> out(n);
  dequantize_row(t, q.data(), out.data(), static_cast<int64_t>(n));
  return out;
}

template <typename Block>
Block block_at(const std::vector<uint8_t>& bytes, size_t i) {
  Block b;
  std::memcpy(&b, bytes.data() + i * sizeof(Block), sizeof(Block));
  return b;
}

// ---- hand-computed blocks ----

TEST(QuantTest, Q8_0KnownBlockRoundsHalvesAwayFromZero) {
  std::vector<float> x = {127.0f, -2.5f, 2.5f, 0.5f, -0.5f, 1.49f, -126.5f};
  for (int j = 7; j < 32; ++j) x.push_back(static_cast<float>(j - 20));
  const auto b = block_at<BlockQ8_0>(quantize(DType::Q8_0, x), 0);
  EXPECT_EQ(b.d, 0x3c00);  // amax 127 → d = 1.0
  const int8_t head[] = {127, -3, 3, 1, -1, 1, -127};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.qs[j], head[j]) << j;
  for (int j = 7; j < 32; ++j) EXPECT_EQ(b.qs[j], j - 20) << j;
}

TEST(QuantTest, Q8_1KnownBlockStoresScaledSum) {
  std::vector<float> x = {127.0f, -2.5f, 2.5f, 0.5f, -0.5f, 1.49f, -126.5f};
  for (int j = 7; j < 32; ++j) x.push_back(static_cast<float>(j - 20));
  const auto b = block_at<BlockQ8_1>(quantize(DType::Q8_1, x), 0);
  EXPECT_EQ(b.d, 0x3c00);
  EXPECT_EQ(b.s, 0xce00);  // sum of quants = 1 + (-25) = -24 → fp16(-24)
  EXPECT_EQ(b.qs[1], -3);
  EXPECT_EQ(b.qs[31], 11);
}

TEST(QuantTest, Q4_0KnownBlockWithNegativeMax) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16 - 8);
  x[0] = -8.0f;  // signed max → d = 1
  x[1] = 7.0f;   // → 15
  x[2] = 0.5f;   // 9.0 → 9
  x[3] = -0.5f;  // 8.0 → 8
  x[4] = 1.49f;  // 9.99 → 9
  x[5] = -7.6f;  // 0.9 → 0
  x[6] = 7.6f;   // 16.1 → clamps to 15
  const auto b = block_at<BlockQ4_0>(quantize(DType::Q4_0, x), 0);
  EXPECT_EQ(b.d, 0x3c00);
  const int lo[] = {0, 15, 9, 8, 9, 0, 15};
  for (int j = 0; j < 16; ++j) {
    const int expect_lo = j < 7 ? lo[j] : j;
    EXPECT_EQ(b.qs[j] & 0x0f, expect_lo) << j;
    EXPECT_EQ(b.qs[j] >> 4, j) << j;  // x[j+16] = j - 8 → j
  }
}

TEST(QuantTest, Q4_0KnownBlockWithPositiveMaxClampsOppositeExtreme) {
  std::vector<float> x(32, 0.0f);
  x[0] = 4.0f;   // d = 4 / -8 = -0.5 → 4 * -2 + 8.5 = 0.5 → 0
  x[1] = -4.0f;  // 16.5 → 16 → clamps to 15
  const auto b = block_at<BlockQ4_0>(quantize(DType::Q4_0, x), 0);
  EXPECT_EQ(b.d, 0xb800);  // -0.5
  EXPECT_EQ(b.qs[0], 0x80);
  EXPECT_EQ(b.qs[1], 0x8f);
  for (int j = 2; j < 16; ++j) EXPECT_EQ(b.qs[j], 0x88) << j;
  const auto y = dequantize(DType::Q4_0, quantize(DType::Q4_0, x), 32);
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(y[1], -3.5f);
  EXPECT_EQ(y[2], 0.0f);
}

TEST(QuantTest, Q4_1KnownBlock) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 15 - 1);
  x[0] = -1.0f;  // min
  x[1] = 14.0f;  // max → d = 1
  x[2] = 2.5f;   // 3.5 + 0.5 = 4.0 → 4
  x[3] = 2.49f;  // 3.99 → 3
  const auto b = block_at<BlockQ4_1>(quantize(DType::Q4_1, x), 0);
  EXPECT_EQ(b.d, 0x3c00);
  EXPECT_EQ(b.m, 0xbc00);
  const int lo[] = {0, 15, 4, 3};
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(b.qs[j] & 0x0f, j < 4 ? lo[j] : j % 15) << j;
    EXPECT_EQ(b.qs[j] >> 4, (j + 16) % 15) << j;
  }
  const auto y = dequantize(DType::Q4_1, quantize(DType::Q4_1, x), 32);
  EXPECT_EQ(y[2], 3.0f);
  EXPECT_EQ(y[1], 14.0f);
}

// ---- independent reference (ggml's *_ref semantics) on random data ----

void ref_q4_0(const float* x, uint8_t* out) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  }
  const float d = max / -8;
  const float id = d ? 1.0f / d : 0.0f;
  BlockQ4_0 b{};
  b.d = fp32_to_fp16(d);
  for (int j = 0; j < 16; ++j) {
    const float a = x[j] * id;
    const float c = x[j + 16] * id;
    b.qs[j] = static_cast<uint8_t>(std::min(15, static_cast<int>(a + 8.5f)) |
                                   std::min(15, static_cast<int>(c + 8.5f)) << 4);
  }
  std::memcpy(out, &b, sizeof(b));
}

void ref_q4_1(const float* x, uint8_t* out) {
  const float min = *std::min_element(x, x + 32);
  const float max = *std::max_element(x, x + 32);
  const float d = (max - min) / 15;
  const float id = d ? 1.0f / d : 0.0f;
  BlockQ4_1 b{};
  b.d = fp32_to_fp16(d);
  b.m = fp32_to_fp16(min);
  for (int j = 0; j < 16; ++j) {
    const float a = (x[j] - min) * id;
    const float c = (x[j + 16] - min) * id;
    b.qs[j] = static_cast<uint8_t>(std::min(15, static_cast<int>(a + 0.5f)) |
                                   std::min(15, static_cast<int>(c + 0.5f)) << 4);
  }
  std::memcpy(out, &b, sizeof(b));
}

template <typename Block>
void ref_q8(const float* x, uint8_t* out) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d ? 1.0f / d : 0.0f;
  Block b{};
  b.d = fp32_to_fp16(d);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    const float v = x[j] * id;
    // Round half away from zero; in double, so independent of roundf.
    b.qs[j] = static_cast<int8_t>(std::round(static_cast<double>(v)));
    sum += b.qs[j];
  }
  if constexpr (sizeof(Block) == sizeof(BlockQ8_1)) b.s = fp32_to_fp16(static_cast<float>(sum) * d);
  std::memcpy(out, &b, sizeof(b));
}

std::vector<float> random_blocks(int n_blocks, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> scale(-6.0f, 4.0f);
  std::vector<float> x(static_cast<size_t>(n_blocks) * 32);
  for (int b = 0; b < n_blocks; ++b) {
    float* blk = x.data() + b * 32;
    const float s = std::pow(10.0f, scale(rng));
    const int kind = b % 5;
    for (int j = 0; j < 32; ++j) {
      if (kind == 0)
        blk[j] = 0.0f;  // all zero: d = 0
      else if (kind == 1)
        blk[j] = 0.75f * s;  // constant: Q4_1 d = 0
      else if (kind == 2)
        blk[j] = static_cast<float>(static_cast<int>(normal(rng) * 40)) * 0.5f;
      else
        blk[j] = normal(rng) * s;  // typical
    }
  }
  return x;
}

TEST(QuantTest, RandomBlocksMatchGgmlReferenceBytes) {
  const auto x = random_blocks(500, 1);
  struct Case {
    DType t;
    void (*ref)(const float*, uint8_t*);
  };
  const Case cases[] = {{DType::Q4_0, ref_q4_0},
                        {DType::Q4_1, ref_q4_1},
                        {DType::Q8_0, ref_q8<BlockQ8_0>},
                        {DType::Q8_1, ref_q8<BlockQ8_1>}};
  for (const auto& c : cases) {
    const auto got = quantize(c.t, x);
    const size_t bs = dtype_info(c.t).type_size;
    std::vector<uint8_t> want(got.size());
    for (size_t b = 0; b < x.size() / 32; ++b) c.ref(x.data() + b * 32, want.data() + b * bs);
    for (size_t b = 0; b < x.size() / 32; ++b) {
      ASSERT_EQ(0, std::memcmp(got.data() + b * bs, want.data() + b * bs, bs))
          << dtype_name(c.t) << " block " << b;
    }
  }
}

// ---- round-trip error bounds ----

TEST(QuantTest, RoundTripErrorStaysWithinHalfAStep) {
  const auto x = random_blocks(400, 2);
  const size_t n = x.size();
  const auto q40 = dequantize(DType::Q4_0, quantize(DType::Q4_0, x), n);
  const auto q41 = dequantize(DType::Q4_1, quantize(DType::Q4_1, x), n);
  const auto q80 = dequantize(DType::Q8_0, quantize(DType::Q8_0, x), n);
  const auto q81 = dequantize(DType::Q8_1, quantize(DType::Q8_1, x), n);
  // Rounding error of storing v as fp16: relative 2^-11, or 2^-25 absolute among subnormals.
  auto h_err = [](float v) { return std::max(std::fabs(v) / 2048.0f, 0x1p-25f); };
  for (size_t b = 0; b < n / 32; ++b) {
    const float* xb = x.data() + b * 32;
    float amax = 0, min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; ++j) {
      amax = std::max(amax, std::fabs(xb[j]));
      min = std::min(min, xb[j]);
      max = std::max(max, xb[j]);
    }
    const float d4 = amax / 8, d41 = (max - min) / 15, d8 = amax / 127;
    for (int j = 0; j < 32; ++j) {
      const size_t i = b * 32 + j;
      const float slack = 1e-6f * amax;
      // Q4_0: half a step, except the clamp (x = -max maps to 7 not 8): one full step.
      EXPECT_LE(std::fabs(q40[i] - x[i]), d4 + 8 * h_err(d4) + slack) << i;
      EXPECT_LE(std::fabs(q41[i] - x[i]), d41 / 2 + 15 * h_err(d41) + h_err(min) + slack) << i;
      EXPECT_LE(std::fabs(q80[i] - x[i]), d8 / 2 + 127 * h_err(d8) + slack) << i;
      EXPECT_EQ(q80[i], q81[i]) << i;
    }
  }
  double err40 = 0, ref = 0;
  for (size_t i = 0; i < n; ++i) {
    err40 += std::fabs(q40[i] - x[i]);
    ref += std::fabs(x[i]);
  }
  EXPECT_LT(err40 / ref, 0.2);  // clamping is rare, typical error ~ a quarter step
}

TEST(QuantTest, FloatTypesConvertPerElement) {
  const std::vector<float> x = {1.0f, -2.5f, 1e-3f, 65504.0f, 3.14159f, -0.0f, 1e5f, 7.0f};
  const auto f32 = dequantize(DType::F32, quantize(DType::F32, x), x.size());
  EXPECT_EQ(f32, x);
  const auto h = quantize(DType::F16, x);
  const auto bf = quantize(DType::BF16, x);
  const auto f16 = dequantize(DType::F16, h, x.size());
  const auto b16 = dequantize(DType::BF16, bf, x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    uint16_t hv, bv;
    std::memcpy(&hv, h.data() + 2 * i, 2);
    std::memcpy(&bv, bf.data() + 2 * i, 2);
    EXPECT_EQ(hv, fp32_to_fp16(x[i]));
    EXPECT_EQ(bv, fp32_to_bf16(x[i]));
    EXPECT_EQ(f16[i], fp16_to_fp32(hv));
    EXPECT_EQ(b16[i], bf16_to_fp32(bv));
  }
  EXPECT_TRUE(std::isinf(f16[6]));  // 1e5 overflows half
}

TEST(QuantTest, SupportedTypes) {
  for (DType t :
       {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q8_1}) {
    EXPECT_TRUE(quant_row_supported(t)) << dtype_name(t);
  }
  EXPECT_FALSE(quant_row_supported(DType::Q5_0));
  EXPECT_FALSE(quant_row_supported(DType::I32));
}

}  // namespace
}  // namespace autoglm
