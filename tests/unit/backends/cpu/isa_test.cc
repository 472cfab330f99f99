#include "backends/cpu/kernels/isa.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/neon_math.h"

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace autoglm::cpu {
namespace {

constexpr Isa kAllLevels[] = {Isa::Scalar,     Isa::Avx2, Isa::Avx2Vnni, Isa::Avx512,
                              Isa::Avx512Vnni, Isa::Neon, Isa::NeonDot};

// Whether this CPU has a level, from the compiler's CPU model or HWCAP (independent of isa.cc).
bool hardware_has(Isa isa) {
#if defined(__x86_64__)
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const bool avx512_vnni = avx512 && __builtin_cpu_supports("avx512vnni");
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return avx2;
    case Isa::Avx2Vnni:
      return avx2 && (__builtin_cpu_supports("avxvnni") || avx512_vnni);
    case Isa::Avx512:
      return avx512;
    case Isa::Avx512Vnni:
      return avx512_vnni;
    default:
      return false;
  }
#elif defined(__aarch64__)
  if (isa == Isa::NeonDot) return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return isa == Isa::Scalar || isa == Isa::Neon;
#else
  return isa == Isa::Scalar;
#endif
}

Isa hardware_best() {
  Isa best = Isa::Scalar;
  for (Isa isa : kAllLevels) {
    if (hardware_has(isa)) best = isa;
  }
  return best;
}

TEST(IsaTest, Names) {
  EXPECT_STREQ(isa_name(Isa::Scalar), "scalar");
  EXPECT_STREQ(isa_name(Isa::Avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::Avx2Vnni), "avx2_vnni");
  EXPECT_STREQ(isa_name(Isa::Avx512), "avx512");
  EXPECT_STREQ(isa_name(Isa::Avx512Vnni), "avx512_vnni");
  EXPECT_STREQ(isa_name(Isa::Neon), "neon");
  EXPECT_STREQ(isa_name(Isa::NeonDot), "neon_dotprod");
}

TEST(IsaTest, AvailabilityMatchesHardware) {
  for (Isa isa : kAllLevels) EXPECT_EQ(isa_available(isa), hardware_has(isa)) << isa_name(isa);
}

TEST(IsaTest, FeatureQueriesFollowTheLevel) {
  EXPECT_FALSE(has_avx2(Isa::Scalar));
  EXPECT_TRUE(has_avx2(Isa::Avx512Vnni));
  EXPECT_FALSE(has_avx2(Isa::Neon));
  EXPECT_TRUE(has_vnni(Isa::Avx2Vnni));
  EXPECT_FALSE(has_vnni(Isa::Avx512));
  EXPECT_TRUE(has_avx512(Isa::Avx512));
  EXPECT_FALSE(has_avx512(Isa::Avx2Vnni));
  EXPECT_TRUE(has_neon(Isa::NeonDot));
  EXPECT_FALSE(has_neon(Isa::Avx512Vnni));
}

// An available level is taken as asked; a missing one falls to the best below it in its family.
TEST(IsaTest, OverrideFallsBackWithinItsFamily) {
  const Isa saved = active_isa();
  for (Isa want : kAllLevels) {
    set_isa_for_testing(want);
    Isa expect = Isa::Scalar;
    const int floor = static_cast<int>(has_neon(want) ? Isa::Neon : Isa::Avx2);
    for (int i = static_cast<int>(want); i >= floor; --i) {
      if (hardware_has(static_cast<Isa>(i))) {
        expect = static_cast<Isa>(i);
        break;
      }
    }
    EXPECT_EQ(active_isa(), expect) << isa_name(want);
  }
  set_isa_for_testing(saved);
  EXPECT_EQ(active_isa(), saved);
}

TEST(IsaTest, RequestsNameAFamilyOrAnExactLevel) {
  std::string warning;
  EXPECT_EQ(resolve_isa_request(nullptr, &warning), hardware_best());
  EXPECT_EQ(warning, "");
  EXPECT_EQ(resolve_isa_request("", &warning), hardware_best());
  EXPECT_EQ(resolve_isa_request("scalar", &warning), Isa::Scalar);
  EXPECT_EQ(warning, "");
  // A family name takes the family's best level and warns only when the family is missing.
  const struct {
    const char* name;
    Isa best;
  } families[] = {{"avx2", Isa::Avx2Vnni}, {"avx512", Isa::Avx512Vnni}, {"neon", Isa::NeonDot}};
  for (const auto& f : families) {
    Isa expect = Isa::Scalar;
    const int floor = static_cast<int>(has_neon(f.best) ? Isa::Neon : Isa::Avx2);
    for (int i = static_cast<int>(f.best); i >= floor; --i) {
      if (hardware_has(static_cast<Isa>(i))) {
        expect = static_cast<Isa>(i);
        break;
      }
    }
    EXPECT_EQ(resolve_isa_request(f.name, &warning), expect) << f.name;
    const bool family_present = expect != Isa::Scalar && has_avx512(expect) == has_avx512(f.best) &&
                                has_neon(expect) == has_neon(f.best);
    EXPECT_EQ(warning.empty(), family_present) << f.name << ": " << warning;
  }
  // The extended levels' names select exactly that level (the plain ones share the family name).
  for (Isa isa : {Isa::Avx2Vnni, Isa::Avx512Vnni, Isa::NeonDot}) {
    const Isa got = resolve_isa_request(isa_name(isa), &warning);
    if (hardware_has(isa)) {
      EXPECT_EQ(got, isa);
      EXPECT_EQ(warning, "");
    } else {
      EXPECT_NE(got, isa);
      EXPECT_NE(warning.find("lacks AUTOGLM_CPU_ISA="), std::string::npos) << warning;
    }
  }
  EXPECT_EQ(resolve_isa_request("sse9", &warning), hardware_best());
  EXPECT_NE(warning.find("AUTOGLM_CPU_ISA=sse9 is not one of"), std::string::npos) << warning;
}

TEST(IsaTest, DefaultFollowsEnvironmentAndHardware) {
  const char* env = std::getenv("AUTOGLM_CPU_ISA");
  std::string warning;
  EXPECT_EQ(active_isa(), resolve_isa_request(env, &warning));
}

// Eight lanes of the kernels' vector exp: avx2::exp on x86, two neon::exp on AArch64.
#if defined(__x86_64__)
AUTOGLM_AVX2 void exp8(const float* x, float* y) {
  _mm256_storeu_ps(y, avx2::exp(_mm256_loadu_ps(x)));
}
bool have_vector_exp() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#define AUTOGLM_HAVE_VECTOR_EXP 1
#elif defined(__aarch64__)
void exp8(const float* x, float* y) {
  vst1q_f32(y, neon::exp(vld1q_f32(x)));
  vst1q_f32(y + 4, neon::exp(vld1q_f32(x + 4)));
}
bool have_vector_exp() {
  return true;
}
#define AUTOGLM_HAVE_VECTOR_EXP 1
#endif

#if defined(AUTOGLM_HAVE_VECTOR_EXP)
TEST(IsaTest, VectorExpIsAccurate) {
  if (!have_vector_exp()) GTEST_SKIP();
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
