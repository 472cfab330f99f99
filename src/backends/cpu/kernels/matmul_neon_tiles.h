// NEON matmul tiles shared by matmul_neon.cc (baseline ARMv8) and matmul_neon_dotprod.cc
// (compiled for ARMv8.2 + dotprod). Internal: include from those two files only.
//
// Everything here has internal linkage and instantiates no std template, so each file keeps
// its own copy: a shared inline copy compiled for ARMv8.2 could otherwise be the one the
// linker keeps for baseline callers.
#pragma once

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstdlib>
#include <cstring>

#include "core/dtype.h"

namespace autoglm::cpu::neon {
namespace {

inline float half_to_float(uint16_t bits) {
  __fp16 h;
  std::memcpy(&h, &bits, sizeof(h));
  return h;  // fcvt: half conversion is part of base AArch64
}

inline float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof(f));
  return f;
}

// How 32 s8 x s8 products become 4 i32 sums: widening multiplies + pairwise adds on plain NEON,
// two sdot with the dotprod extension.
enum class Dot { Mull, Sdot };

template <Dot D>
inline int32x4_t dot32(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
  int32x4_t acc = vdupq_n_s32(0);
  if constexpr (D == Dot::Sdot) {
#if defined(__ARM_FEATURE_DOTPROD)
    acc = vdotq_s32(vdotq_s32(acc, a0, b0), a1, b1);
#else
    static_assert(D != Dot::Sdot, "sdot tiles are built in matmul_neon_dotprod.cc only");
#endif
  } else {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a0), vget_low_s8(b0)));
    acc = vpadalq_s16(acc, vmull_high_s8(a0, b0));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a1), vget_low_s8(b1)));
    acc = vpadalq_s16(acc, vmull_high_s8(a1, b1));
  }
  return acc;
}

// One decoded weight block: elements 0..15 and 16..31 as signed bytes.
struct WBlock32 {
  int8x16_t lo, hi;
};

// 16 packed bytes → low nibbles (elements 0..15) and high nibbles (16..31), minus `offset`.
inline WBlock32 unpack_nibbles(const uint8_t* qs, int8_t offset) {
  const uint8x16_t v = vld1q_u8(qs);
  const int8x16_t off = vdupq_n_s8(offset);
  return {vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f))), off),
          vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), off)};
}

struct Q4_0Q8_0 {
  using WB = BlockQ4_0;
  using XB = BlockQ8_0;
  static constexpr bool kHasMin = false;
  static WBlock32 decode(const WB& b) { return unpack_nibbles(b.qs, 8); }
};

struct Q4_1Q8_1 {
  using WB = BlockQ4_1;
  using XB = BlockQ8_1;
  static constexpr bool kHasMin = true;
  static WBlock32 decode(const WB& b) { return unpack_nibbles(b.qs, 0); }
};

struct Q8_0Q8_0 {
  using WB = BlockQ8_0;
  using XB = BlockQ8_0;
  static constexpr bool kHasMin = false;
  static WBlock32 decode(const WB& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
};

struct TileArgs {
  const uint8_t* w;  // first weight row of the tile
  size_t wrb;
  const uint8_t* x;  // first activation row of the tile
  size_t xrb;
  int64_t k;
  float* y;  // y[t0][r0]
  int64_t ys;
};
using TileFn = void (*)(const TileArgs&);

// NR weight rows x NT tokens: each weight block is decoded once per NT tokens, each activation
// block loaded once per NR rows.
template <class K, Dot D, int NR, int NT>
void quant_tile(const TileArgs& a) {
  using WB = typename K::WB;
  using XB = typename K::XB;
  const int64_t nb = a.k / 32;
  float32x4_t acc[NR][NT];
  float mins[NR][NT];  // sum over blocks of m_w * s_x (Q4_1)
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      acc[r][t] = vdupq_n_f32(0.0f);
      mins[r][t] = 0.0f;
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    WBlock32 wq[NR];
    float wd[NR], wm[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const WB& blk = reinterpret_cast<const WB*>(a.w + r * a.wrb)[b];
      wq[r] = K::decode(blk);
      wd[r] = half_to_float(blk.d);
      if constexpr (K::kHasMin) wm[r] = half_to_float(blk.m);
    }
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const XB& xb = reinterpret_cast<const XB*>(a.x + t * a.xrb)[b];
      const int8x16_t x0 = vld1q_s8(xb.qs);
      const int8x16_t x1 = vld1q_s8(xb.qs + 16);
      const float xd = half_to_float(xb.d);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const float32x4_t sums = vcvtq_f32_s32(dot32<D>(wq[r].lo, wq[r].hi, x0, x1));
        acc[r][t] = vfmaq_n_f32(acc[r][t], sums, wd[r] * xd);
        if constexpr (K::kHasMin) mins[r][t] += wm[r] * half_to_float(xb.s);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) a.y[t * a.ys + r] = vaddvq_f32(acc[r][t]) + mins[r][t];
  }
}

// ---- float weights: 4 lanes per step, scalar tail for k % 4 ----

struct F32Load {
  using T = float;
  static float32x4_t load(const T* p) { return vld1q_f32(p); }
  static float scalar(T v) { return v; }
};
struct F16Load {
  using T = uint16_t;
  static float32x4_t load(const T* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static float scalar(T v) { return half_to_float(v); }
};
struct BF16Load {
  using T = uint16_t;
  static float32x4_t load(const T* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
  static float scalar(T v) { return bf16_to_float(v); }
};

template <class L, int NR, int NT>
void float_tile(const TileArgs& a) {
  using T = typename L::T;
  const int64_t k = a.k;
  const T* wr[NR];
  const T* xr[NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) wr[r] = reinterpret_cast<const T*>(a.w + r * a.wrb);
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) xr[t] = reinterpret_cast<const T*>(a.x + t * a.xrb);
  float32x4_t acc[NR][NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[r][t] = vdupq_n_f32(0.0f);
  }
  int64_t i = 0;
  for (; i + 4 <= k; i += 4) {
    float32x4_t wv[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) wv[r] = L::load(wr[r] + i);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const float32x4_t xv = L::load(xr[t] + i);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) acc[r][t] = vfmaq_f32(acc[r][t], wv[r], xv);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      float s = vaddvq_f32(acc[r][t]);
      for (int64_t j = i; j < k; ++j) s += L::scalar(wr[r][j]) * L::scalar(xr[t][j]);
      a.y[t * a.ys + r] = s;
    }
  }
}

template <class K, Dot D>
struct QuantTiles {
  template <int NR, int NT>
  static constexpr TileFn fn = quant_tile<K, D, NR, NT>;
};
template <class L>
struct FloatTiles {
  template <int NR, int NT>
  static constexpr TileFn fn = float_tile<L, NR, NT>;
};

template <class Tiles, int NR>
TileFn pick_tokens(int nt) {
  switch (nt) {
    case 4:
      return Tiles::template fn<NR, 4>;
    case 3:
      return Tiles::template fn<NR, 3>;
    case 2:
      return Tiles::template fn<NR, 2>;
    default:
      return Tiles::template fn<NR, 1>;
  }
}

// Decode (one token) reads 4 weight rows per pass to keep more loads in flight; prefill uses
// 2 rows x 4 tokens so each weight block is decoded once per 4 tokens.
template <class Tiles>
void run_tiles(const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k, float* y,
               int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const int nr_main = t1 - t0 == 1 ? 4 : 2;
  TileArgs a{};
  a.wrb = wrb;
  a.xrb = xrb;
  a.k = k;
  a.ys = ys;
  for (int64_t r = r0; r < r1;) {
    const int nr = r1 - r >= nr_main ? nr_main : (r1 - r >= 2 ? 2 : 1);
    for (int64_t t = t0; t < t1; t += 4) {
      const int nt = static_cast<int>(t1 - t < 4 ? t1 - t : 4);
      a.w = w + r * wrb;
      a.x = x + t * xrb;
      a.y = y + t * ys + r;
      const TileFn fn = nr == 4   ? pick_tokens<Tiles, 4>(nt)
                        : nr == 2 ? pick_tokens<Tiles, 2>(nt)
                                  : pick_tokens<Tiles, 1>(nt);
      fn(a);
    }
    r += nr;
  }
}

template <class K, Dot D>
void run_quant(const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k, float* y,
               int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  run_tiles<QuantTiles<K, D>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
}

template <Dot D>
void matmul_range_impl(DType wtype, const void* w, size_t w_row_bytes, const void* xq, size_t xrb,
                       int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0,
                       int64_t t1) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(xq);
  const size_t wrb = w_row_bytes;
  switch (wtype) {
    case DType::Q4_0:
      return run_quant<Q4_0Q8_0, D>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q4_1:
      return run_quant<Q4_1Q8_1, D>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q8_0:
      return run_quant<Q8_0Q8_0, D>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::F16:
      return run_tiles<FloatTiles<F16Load>>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::BF16:
      return run_tiles<FloatTiles<BF16Load>>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::F32:
      return run_tiles<FloatTiles<F32Load>>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    default:
      std::abort();  // matmul_supports() admits only the types above
  }
}

}  // namespace
}  // namespace autoglm::cpu::neon
#endif  // __aarch64__
