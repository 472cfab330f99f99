#include "core/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace autoglm {
namespace {

// The compiler's half-precision conversions (IEEE round-to-nearest-even) are the independent
// reference; GCC 12 has _Float16 in C++ on x86 and __fp16 on aarch64.
#if defined(__aarch64__)
using Half = __fp16;
#else
using Half = _Float16;
#endif
float ref_h2f(uint16_t h) {
  return static_cast<float>(std::bit_cast<Half>(h));
}
uint16_t ref_f2h(float f) {
  return std::bit_cast<uint16_t>(static_cast<Half>(f));
}

bool is_nan_half(uint16_t h) {
  return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

TEST(HalfTest, AllHalvesConvertToFloatExactly) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float got = fp16_to_fp32(h);
    if (is_nan_half(h)) {
      EXPECT_TRUE(std::isnan(got)) << std::hex << i;
      continue;
    }
    ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(ref_h2f(h))) << std::hex << i;
  }
}

TEST(HalfTest, AllHalvesRoundTrip) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(h));
    if (is_nan_half(h)) {
      EXPECT_TRUE(is_nan_half(back)) << std::hex << i;
    } else {
      ASSERT_EQ(back, h) << std::hex << i;
    }
  }
}

// Values next to every rounding boundary (midpoints between adjacent halves, ±1 f32 ulp) plus
// random bit patterns over the whole f32 range.
std::vector<float> conversion_probes() {
  std::vector<float> v;
  for (uint32_t i = 0; i < 0x7c00; ++i) {
    const double mid = (static_cast<double>(ref_h2f(static_cast<uint16_t>(i))) +
                        static_cast<double>(ref_h2f(static_cast<uint16_t>(i + 1)))) /
                       2.0;
    const float m = static_cast<float>(mid);
    for (float f : {m, std::nextafter(m, 0.0f), std::nextafter(m, 1e30f)}) {
      v.push_back(f);
      v.push_back(-f);
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 1 << 20; ++i) v.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (float f : {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e10f, 5.9604645e-8f, 2.9802322e-8f,
                  2.9802326e-8f, 1e-10f, INFINITY, -INFINITY}) {
    v.push_back(f);
  }
  return v;
}

TEST(HalfTest, FloatToHalfMatchesCompilerRounding) {
  for (float f : conversion_probes()) {
    if (std::isnan(f)) {
      EXPECT_TRUE(is_nan_half(fp32_to_fp16(f)));
      continue;
    }
    ASSERT_EQ(fp32_to_fp16(f), ref_f2h(f))
        << f << " bits " << std::hex << std::bit_cast<uint32_t>(f);
  }
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t f16c_f2h(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(HalfTest, FloatToHalfMatchesF16C) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "no F16C";
  for (float f : conversion_probes()) {
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), f16c_f2h(f)) << f;
  }
}
#endif

// Reference bf16 rounding: pick the nearer of the two bf16 neighbours in double, ties to even.
uint16_t ref_f2bf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t down = x & 0xffff0000u;
  const uint32_t up = down + 0x10000u;
  const double dd = std::fabs(static_cast<double>(f) - std::bit_cast<float>(down));
  const double du = std::fabs(std::bit_cast<float>(up) - static_cast<double>(f));
  if (dd < du) return static_cast<uint16_t>(down >> 16);
  if (du < dd) return static_cast<uint16_t>(up >> 16);
  return static_cast<uint16_t>(((down >> 16) & 1u) ? up >> 16 : down >> 16);
}

TEST(HalfTest, Bfloat16ConversionsRoundToNearestEven) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(i));
    ASSERT_EQ(std::bit_cast<uint32_t>(f), i << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(fp32_to_bf16(f), i);
    }
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 1 << 20; ++i) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(f))));
      continue;
    }
    if (std::isinf(f) || std::fabs(f) > 3.38e38f) continue;  // rounding may overflow to inf
    ASSERT_EQ(fp32_to_bf16(f), ref_f2bf(f)) << f;
  }
  EXPECT_EQ(fp32_to_bf16(1.0f + 1.0f / 256.0f), 0x3f80);               // tie → even (down)
  EXPECT_EQ(fp32_to_bf16(1.0f + 3.0f / 256.0f), 0x3f82);               // tie → even (up)
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);  // above tie → up
}

}  // namespace
}  // namespace autoglm
