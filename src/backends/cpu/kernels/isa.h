// Runtime choice of the SIMD level the CPU kernels use, made once per process.
#pragma once

#include <string>

namespace autoglm::cpu {

// Two families, each ordered from plain to extended: a later x86 level includes everything the
// kernels use from the earlier ones except that Avx512 (without VNNI) lacks Avx2Vnni's VNNI.
enum class Isa {
  Scalar,
  Avx2,        // AVX2 + FMA + F16C
  Avx2Vnni,    // Avx2 plus VNNI int8 dot products (AVX-VNNI, or AVX512-VNNI with AVX512VL)
  Avx512,      // Avx2 plus AVX-512 F/BW/VL
  Avx512Vnni,  // Avx512 plus AVX512-VNNI; BF16 weights use vdpbf16ps where AVX512_BF16 is present
  Neon,        // AArch64 Advanced SIMD
  NeonDot,     // Neon plus the dotprod extension (sdot/udot)
};

// The level the kernels use: the best this CPU supports, unless AUTOGLM_CPU_ISA names a family
// (scalar|avx2|avx512|neon) or an exact level (isa_name). A family selects its best level the
// CPU has; a level the CPU lacks falls back, with a warning on stderr, to the best one below it
// in its family (or scalar); an unknown value warns and keeps the hardware's best.
Isa active_isa();
const char* isa_name(Isa isa);
// The level an AUTOGLM_CPU_ISA value selects on this CPU (nullptr or "" → the best); *warning
// says why when it is not what was asked for, else is left empty.
Isa resolve_isa_request(const char* request, std::string* warning);
// True when this CPU can run kernels at `isa`.
bool isa_available(Isa isa);
// Overrides the choice (tests, comparisons); a level the CPU lacks falls back as above, silently.
void set_isa_for_testing(Isa isa);

inline bool has_avx2(Isa isa) {
  return isa >= Isa::Avx2 && isa <= Isa::Avx512Vnni;
}
inline bool has_vnni(Isa isa) {
  return isa == Isa::Avx2Vnni || isa == Isa::Avx512Vnni;
}
inline bool has_avx512(Isa isa) {
  return isa == Isa::Avx512 || isa == Isa::Avx512Vnni;
}
inline bool has_neon(Isa isa) {
  return isa == Isa::Neon || isa == Isa::NeonDot;
}

}  // namespace autoglm::cpu

// Compiles a function for AVX2+FMA+F16C without requiring -march flags for the whole build.
#if defined(__x86_64__)
#define AUTOGLM_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif
