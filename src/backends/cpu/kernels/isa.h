// Runtime choice of the SIMD level the CPU kernels use, made once per process.
#pragma once

namespace autoglm::cpu {

// Ordered: each level includes the ones before it.
enum class Isa {
  Scalar,
  Avx2,      // AVX2 + FMA + F16C
  Avx2Vnni,  // Avx2 plus VNNI int8 dot products (AVX-VNNI, or AVX512-VNNI with AVX512VL)
};

// Best level this CPU supports. AUTOGLM_CPU_ISA=scalar or =avx2 caps it (for tests, comparisons).
Isa active_isa();
const char* isa_name(Isa isa);
// Overrides the choice for tests; a level the CPU lacks falls back to the best one it has.
void set_isa_for_testing(Isa isa);

inline bool has_avx2(Isa isa) {
  return isa != Isa::Scalar;
}

}  // namespace autoglm::cpu

// Compiles a function for AVX2+FMA+F16C without requiring -march flags for the whole build.
#if defined(__x86_64__)
#define AUTOGLM_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif
