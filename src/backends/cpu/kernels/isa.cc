#include "backends/cpu/kernels/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace autoglm::cpu {
namespace {

constexpr Isa kAllLevels[] = {Isa::Scalar,     Isa::Avx2, Isa::Avx2Vnni, Isa::Avx512,
                              Isa::Avx512Vnni, Isa::Neon, Isa::NeonDot};

bool hardware_supports(Isa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
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
  switch (isa) {
    case Isa::Scalar:
    case Isa::Neon:
      return true;  // Advanced SIMD is mandatory on AArch64
    case Isa::NeonDot:
#if defined(__linux__)
      return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
      return false;
#endif
    default:
      return false;
  }
#else
  return isa == Isa::Scalar;
#endif
}

// The best available level at or below `want` in its family; scalar when none is.
Isa fall_back(Isa want) {
  const Isa family_floor = has_neon(want) ? Isa::Neon : Isa::Avx2;
  for (int i = static_cast<int>(want); i >= static_cast<int>(family_floor); --i) {
    if (hardware_supports(static_cast<Isa>(i))) return static_cast<Isa>(i);
  }
  return Isa::Scalar;
}

// scalar 0, AVX2 1, AVX-512 2, NEON 3.
int family(Isa isa) {
  if (has_neon(isa)) return 3;
  if (has_avx512(isa)) return 2;
  return has_avx2(isa) ? 1 : 0;
}

Isa hardware_best() {
  Isa best = Isa::Scalar;
  for (Isa isa : kAllLevels) {
    if (hardware_supports(isa)) best = isa;
  }
  return best;
}

Isa detect_isa() {
  std::string warning;
  const Isa isa = resolve_isa_request(std::getenv("AUTOGLM_CPU_ISA"), &warning);
  if (!warning.empty()) std::fprintf(stderr, "autoglm: warning: %s\n", warning.c_str());
  return isa;
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
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx512Vnni:
      return "avx512_vnni";
    case Isa::Neon:
      return "neon";
    case Isa::NeonDot:
      return "neon_dotprod";
    default:
      return "scalar";
  }
}

bool isa_available(Isa isa) {
  return hardware_supports(isa);
}

Isa resolve_isa_request(const char* request, std::string* warning) {
  warning->clear();
  if (request == nullptr || *request == '\0') return hardware_best();
  // Family names request that family's best level.
  Isa want = Isa::Scalar;
  bool family_request = true;
  if (std::strcmp(request, "avx2") == 0) {
    want = Isa::Avx2Vnni;
  } else if (std::strcmp(request, "avx512") == 0) {
    want = Isa::Avx512Vnni;
  } else if (std::strcmp(request, "neon") == 0) {
    want = Isa::NeonDot;
  } else {
    bool known = false;
    for (Isa isa : kAllLevels) {
      if (std::strcmp(request, isa_name(isa)) == 0) {
        want = isa;
        known = true;
        family_request = false;
      }
    }
    if (!known) {
      const Isa best = hardware_best();
      *warning = std::string("AUTOGLM_CPU_ISA=") + request +
                 " is not one of scalar, avx2, avx512, neon, avx2_vnni, avx512_vnni, "
                 "neon_dotprod; using " +
                 isa_name(best);
      return best;
    }
  }
  const Isa got = fall_back(want);
  if (family_request ? family(got) != family(want) : got != want) {
    *warning =
        std::string("this CPU lacks AUTOGLM_CPU_ISA=") + request + "; using " + isa_name(got);
  }
  return got;
}

void set_isa_for_testing(Isa isa) {
  g_override.store(static_cast<int>(fall_back(isa)), std::memory_order_relaxed);
}

}  // namespace autoglm::cpu
