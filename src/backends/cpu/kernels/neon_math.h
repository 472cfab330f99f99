// Small NEON helpers shared by the kernels (internal). NEON is baseline on AArch64.
#pragma once

#if defined(__aarch64__)
#include <arm_neon.h>

namespace autoglm::cpu::neon {

// expf to ~2 ulp, the same Cephes polynomial as avx2::exp. Flushes to 0 below -86.6 (results
// near FLT_MIN), so -inf from a mask gives 0; overflows to inf above 88.72.
inline float32x4_t exp(float32x4_t x) {
  const float32x4_t hi = vdupq_n_f32(88.72283f);
  const float32x4_t lo = vdupq_n_f32(-86.6f);
  const float32x4_t xc = vmaxq_f32(vminq_f32(x, hi), lo);
  const float32x4_t n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504088896341f)));
  // ln2 split in two so n*ln2 is subtracted without losing r's low bits.
  float32x4_t r = vfmsq_f32(xc, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  // 2^n as 2^(n-1) * 2 keeps n = 128 (x near 88.7) representable.
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(126)), 23);
  float32x4_t y = vmulq_f32(vmulq_f32(p, vreinterpretq_f32_s32(e)), vdupq_n_f32(2.0f));
  y = vbslq_f32(vcltq_f32(x, lo), vdupq_n_f32(0.0f), y);
  return vbslq_f32(vcgtq_f32(x, hi), vdupq_n_f32(__builtin_inff()), y);
}

}  // namespace autoglm::cpu::neon

#endif  // __aarch64__
