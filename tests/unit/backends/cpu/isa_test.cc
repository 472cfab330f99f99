#include "backends/cpu/kernels/isa.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "backends/cpu/kernels/avx2_math.h"

namespace autoglm::cpu {
namespace {

// The best level this CPU has, from the compiler's CPU model (independent of isa.cc).
Isa hardware_level() {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c")) {
    return Isa::Scalar;
  }
  if (__builtin_cpu_supports("avxvnni")) return Isa::Avx2Vnni;
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) {
    return Isa::Avx2Vnni;
  }
  return Isa::Avx2;
#else
  return Isa::Scalar;
#endif
}

TEST(IsaTest, NamesAndOverride) {
  EXPECT_STREQ(isa_name(Isa::Scalar), "scalar");
  EXPECT_STREQ(isa_name(Isa::Avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::Avx2Vnni), "avx2_vnni");
  const Isa saved = active_isa();
  const Isa hw = hardware_level();
  for (Isa want : {Isa::Scalar, Isa::Avx2, Isa::Avx2Vnni}) {
    set_isa_for_testing(want);
    EXPECT_EQ(active_isa(), std::min(want, hw)) << isa_name(want);
  }
  set_isa_for_testing(saved);
  EXPECT_EQ(active_isa(), saved);
}

TEST(IsaTest, DefaultFollowsEnvironmentAndHardware) {
  const char* env = std::getenv("AUTOGLM_CPU_ISA");
  Isa want = hardware_level();
  if (env != nullptr && std::strcmp(env, "scalar") == 0) want = Isa::Scalar;
  if (env != nullptr && std::strcmp(env, "avx2") == 0) want = std::min(want, Isa::Avx2);
  EXPECT_EQ(active_isa(), want);
}

#if defined(__x86_64__)
AUTOGLM_AVX2 void exp8(const float* x, float* y) {
  _mm256_storeu_ps(y, avx2::exp(_mm256_loadu_ps(x)));
}

TEST(IsaTest, VectorExpIsAccurate) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP();
  float x[8], y[8];
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const float v = -86.5f + 175.0f * static_cast<float>(i) / 200000.0f;  // [-86.5, 88.5]
    x[i % 8] = v;
    if (i % 8 != 7) continue;
    exp8(x, y);
    for (int j = 0; j < 8; ++j) {
      const double want = std::exp(static_cast<double>(x[j]));
      worst = std::max(worst, std::fabs(y[j] - want) / want);
    }
  }
  EXPECT_LT(worst, 3e-7);  // a few f32 ulps
  const float inf = std::numeric_limits<float>::infinity();
  const float edge[8] = {-inf, -1000.0f, -90.0f, 0.0f, 89.0f, inf, 88.7f, -0.0f};
  exp8(edge, y);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 1.0f);
  EXPECT_TRUE(std::isinf(y[4]));
  EXPECT_TRUE(std::isinf(y[5]));
  EXPECT_NEAR(y[6] / std::exp(static_cast<double>(88.7f)), 1.0, 3e-7);
  EXPECT_EQ(y[7], 1.0f);
}
#endif

}  // namespace
}  // namespace autoglm::cpu
