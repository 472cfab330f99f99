// Small AVX-512 helpers shared by the kernels (internal), compiled per function with target
// attributes so the build needs no AVX-512 flags. Only usable from AUTOGLM_AVX512 functions.
#pragma once

#include "backends/cpu/kernels/isa.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#define AUTOGLM_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma,f16c")))

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace autoglm::cpu::avx512 {

// The mask of the first min(n, 16) lanes (n > 0): a loop's last, partial vector.
AUTOGLM_AVX512 inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
}

AUTOGLM_AVX512 inline __m512 load16_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

AUTOGLM_AVX512 inline __m512 pow2(__m512i e) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23));
}

// avx2::exp_ggml512 on 16 lanes: the same operations lane for lane, so the same bits.
AUTOGLM_AVX512 inline __m512 exp_ggml512(__m512 x) {
  const __m512 r = _mm512_set1_ps(0x1.8p23f);
  const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
  const __m512 n = _mm512_sub_ps(z, r);
  const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                    _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __m512 u = _mm512_mul_ps(b, b);
  const __m512 j = _mm512_fmadd_ps(
      _mm512_fmadd_ps(
          _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
          _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
      u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
  const __m512 big = _mm512_set1_ps(192.0f);
  const __m512 nc = _mm512_max_ps(_mm512_min_ps(n, big), _mm512_sub_ps(_mm512_setzero_ps(), big));
  const __m512i ni = _mm512_cvtps_epi32(nc);
  const __m512i n1 =
      _mm512_max_epi32(_mm512_min_epi32(ni, _mm512_set1_epi32(127)), _mm512_set1_epi32(-125));
  const __m512i n2 = _mm512_sub_epi32(ni, n1);
  const __m512 res = _mm512_mul_ps(_mm512_mul_ps(j, pow2(n1)), pow2(n2));
  const __mmask16 out_of_range = _mm512_cmp_ps_mask(_mm512_abs_ps(n), big, _CMP_GT_OQ);
  if (out_of_range == 0) return res;
  const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ),
                                          _mm512_set1_ps(__builtin_inff()), _mm512_setzero_ps());
  return _mm512_mask_blend_ps(out_of_range, res, alt);
}

// The tree16 sums of 16 rows' lane vectors (llama.cpp's 512-bit horizontal add), lane i = row i:
// lane l + l+8, then l + l+4, l + l+2, 0 + 1, each level one add for several rows at once.
// Op combines two vectors lane by lane (the default adds; quantize_avx512.cc takes maxima).
struct AddLanes {
  AUTOGLM_AVX512 __m512 operator()(__m512 a, __m512 b) const { return _mm512_add_ps(a, b); }
};
template <class Op = AddLanes>
AUTOGLM_AVX512 inline __m512 tree16_x16(const __m512 (&rows)[16], Op op = {}) {
  __m512 t[8];  // t[i]: rows 2i (lanes 0-7) and 2i+1 (8-15), lane l + lane l+8
  for (int i = 0; i < 8; ++i) {
    t[i] = op(_mm512_shuffle_f32x4(rows[2 * i], rows[2 * i + 1], 0x44),
              _mm512_shuffle_f32x4(rows[2 * i], rows[2 * i + 1], 0xee));
  }
  __m512 u[4];  // u[i]: rows 4i .. 4i+3, one per 128-bit quarter, lane l + lane l+4
  for (int i = 0; i < 4; ++i) {
    u[i] = op(_mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0x88),
              _mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0xdd));
  }
  __m512 v[2];  // quarter q of v[i]: rows 8i+q then 8i+4+q, lanes l + l+2 (two each)
  for (int i = 0; i < 2; ++i) {
    v[i] = op(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x44),
              _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xee));
  }
  // Lane 4 q + e holds row 4 e + q: a 4 x 4 transpose puts row i in lane i.
  const __m512 sums = op(_mm512_shuffle_ps(v[0], v[1], 0x88), _mm512_shuffle_ps(v[0], v[1], 0xdd));
  return _mm512_permutexvar_ps(
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), sums);
}

}  // namespace autoglm::cpu::avx512

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // __x86_64__
