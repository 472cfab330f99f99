// Small AVX2 helpers shared by the kernels (internal). Only usable from AUTOGLM_AVX2 functions.
#pragma once

#include "backends/cpu/kernels/isa.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace autoglm::cpu::avx2 {

AUTOGLM_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

AUTOGLM_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

AUTOGLM_AVX2 inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

AUTOGLM_AVX2 inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

AUTOGLM_AVX2 inline __m256 load_bf16(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

AUTOGLM_AVX2 inline void store_f16(uint16_t* p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

// expf to ~2 ulp (Cephes polynomial on [-ln2/2, ln2/2]). Flushes to 0 below -86.6 (results
// near FLT_MIN), so -inf from a mask gives 0; overflows to inf above 88.72.
AUTOGLM_AVX2 inline __m256 exp(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.72283f);
  const __m256 lo = _mm256_set1_ps(-86.6f);
  const __m256 xc = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln2 split in two so n*ln2 is subtracted without losing r's low bits.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as 2^(n-1) * 2 keeps n = 128 (x near 88.7) representable.
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), _mm256_set1_ps(2.0f));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
}

// 2^e for integer e in [-126, 127].
AUTOGLM_AVX2 inline __m256 pow2(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

// expf as llama.cpp's AVX-512 softmax computes it (ggml_v_expf for __m512): n = round(x / ln2),
// a degree-5 polynomial in the reduced argument b, then j * 2^n. The AVX-512 code scales with
// vscalefps; here 2^n is applied in two exact-or-once-rounded multiplies, which gives the same
// bits wherever the result is normal (and within a rounding of 2^-149 below). |n| > 192 gives
// 0 (x < 0) or inf, as there. Used where the engine follows llama.cpp's attention numerics.
AUTOGLM_AVX2 inline __m256 exp_ggml512(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
  // j * 2^n = (j * 2^n1) * 2^n2: n1 in [-125, 127] keeps the first product normal and exact.
  const __m256 big = _mm256_set1_ps(192.0f);
  const __m256 nc = _mm256_max_ps(_mm256_min_ps(n, big), _mm256_sub_ps(_mm256_setzero_ps(), big));
  const __m256i ni = _mm256_cvtps_epi32(nc);
  const __m256i n1 =
      _mm256_max_epi32(_mm256_min_epi32(ni, _mm256_set1_epi32(127)), _mm256_set1_epi32(-125));
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256 res = _mm256_mul_ps(_mm256_mul_ps(j, pow2(n1)), pow2(n2));
  const __m256 out_of_range =
      _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), big, _CMP_GT_OQ);
  if (_mm256_movemask_ps(out_of_range) == 0) return res;
  const __m256 alt = _mm256_blendv_ps(_mm256_set1_ps(__builtin_inff()), _mm256_setzero_ps(),
                                      _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
  return _mm256_blendv_ps(res, alt, out_of_range);
}

// x rounded to F16 and back (round to nearest even), as ggml's F16 operands are.
AUTOGLM_AVX2 inline void round_to_f16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
  }
  if (i == n) return;
  // The tail through a padded register: the scalar conversion is several times slower.
  alignas(32) float t[8] = {};
  std::copy(x + i, x + n, t);
  const __m128i h = _mm256_cvtps_ph(_mm256_load_ps(t), _MM_FROUND_TO_NEAREST_INT);
  _mm256_store_ps(t, _mm256_cvtph_ps(h));
  std::copy(t, t + (n - i), y + i);
}

}  // namespace autoglm::cpu::avx2

#endif  // __x86_64__
