// Shared helpers for the CPU kernel tests: ISA x thread-count parameterization, random data.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cpu/kernels/isa.h"
#include "core/thread_pool.h"

namespace autoglm::cpu::testing {

// Runs every kernel under one ISA level and one pool size; skips levels the CPU lacks.
class KernelTest : public ::testing::TestWithParam<std::tuple<Isa, int>> {
 protected:
  void SetUp() override {
    saved_ = active_isa();
    set_isa_for_testing(std::get<0>(GetParam()));
    if (active_isa() != std::get<0>(GetParam())) GTEST_SKIP() << "CPU lacks this ISA level";
    pool_ = std::make_unique<ThreadPool>(std::get<1>(GetParam()));
  }
  void TearDown() override { set_isa_for_testing(saved_); }

  template <typename Fn>
  void run(Fn&& fn) {
    pool_->run([&](int ith, int nth) { fn(ith, nth); });
  }

  std::unique_ptr<ThreadPool> pool_;

 private:
  Isa saved_ = Isa::Scalar;
};

inline std::string kernel_param_name(const ::testing::TestParamInfo<std::tuple<Isa, int>>& info) {
  return std::string(isa_name(std::get<0>(info.param))) + "_" +
         std::to_string(std::get<1>(info.param)) + "threads";
}

// Every level of both families: the ones this CPU lacks are skipped in SetUp, so the same test
// binary covers x86 and AArch64.
inline auto kernel_params() {
  return ::testing::Combine(::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx2Vnni, Isa::Avx512,
                                              Isa::Avx512Vnni, Isa::Neon, Isa::NeonDot),
                            ::testing::Values(1, 3));
}

#define AUTOGLM_INSTANTIATE_KERNEL_TEST(Suite)                                          \
  INSTANTIATE_TEST_SUITE_P(IsaThreads, Suite, ::autoglm::cpu::testing::kernel_params(), \
                           ::autoglm::cpu::testing::kernel_param_name)

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace autoglm::cpu::testing
