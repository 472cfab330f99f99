#include "backends/cpu/kernels/isa.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace autoglm::cpu {
namespace {

Isa hardware_isa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c")) {
    return Isa::Scalar;
  }
  const bool vnni = __builtin_cpu_supports("avxvnni") ||
                    (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl"));
  return vnni ? Isa::Avx2Vnni : Isa::Avx2;
#else
  return Isa::Scalar;
#endif
}

Isa detect_isa() {
  const Isa hw = hardware_isa();
  const char* env = std::getenv("AUTOGLM_CPU_ISA");
  if (env == nullptr) return hw;
  if (std::strcmp(env, "scalar") == 0) return Isa::Scalar;
  if (std::strcmp(env, "avx2") == 0) return std::min(hw, Isa::Avx2);
  return hw;
}

// Relaxed is enough: ThreadPool::run's hand-off orders a test's store before workers read it.
std::atomic<int> g_override{-1};

}  // namespace

Isa active_isa() {
  static const Isa detected = detect_isa();
  const int o = g_override.load(std::memory_order_relaxed);
  return o < 0 ? detected : static_cast<Isa>(o);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx2Vnni:
      return "avx2_vnni";
    default:
      return "scalar";
  }
}

void set_isa_for_testing(Isa isa) {
  g_override.store(static_cast<int>(std::min(isa, hardware_isa())), std::memory_order_relaxed);
}

}  // namespace autoglm::cpu
