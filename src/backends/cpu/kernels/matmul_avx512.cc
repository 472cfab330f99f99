#include "backends/cpu/kernels/matmul_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdlib>
#include <cstring>

// This file is compiled with AVX-512 flags (CMakeLists.txt) while the rest of the build targets
// the baseline CPU. So everything here has internal linkage and no std template is instantiated:
// an inline function emitted from this file would carry AVX-512 instructions, and the linker
// could keep that copy for callers in baseline code.

namespace autoglm::cpu::avx512 {
namespace {

int64_t min_i64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// ---- int8 block dots ----
// A register holds two (row, token) combinations of one block, one per 256-bit half, so each
// half accumulates exactly as the AVX2 kernel's register does: same integer sums, same f32
// operations in the same order, hence bit-identical results at both levels. (Putting blocks b
// and b+1 in one register instead was up to ~15% faster in prefill, but its reordered f32 sums
// cost the llama.cpp greedy-continuation reference test its one identical continuation.)

// How 64 u8 x s8 products become 16 i32 sums added to acc: maddubs + madd without VNNI.
enum class Dot { MaddUbs, Vnni };

template <Dot D>
inline __m512i dot_u8s8(__m512i acc, __m512i u, __m512i s) {
  if constexpr (D == Dot::Vnni) {
    return _mm512_dpbusd_epi32(acc, u, s);
  } else {
    const __m512i pairs = _mm512_maddubs_epi16(u, s);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
  }
}

inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// 16 packed bytes → 32 nibbles: low nibbles (elements 0..15) then high (16..31).
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

inline __m256i load_qs(const int8_t* qs) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
}

// Activations of a register's two combinations, with what the weight type folds in.
struct XPair {
  __m512i q;
  __m512i init;  // starting i32 sums: the offset correction for offset-coded weights
};

// The sum of each 4-byte group of x, times -offset: sum (w + offset) x - offset sum x.
template <Dot D, int kShift>
inline __m512i offset_correction(__m512i x) {
  const __m512i sum = dot_u8s8<D>(_mm512_setzero_si512(), _mm512_set1_epi8(1), x);
  return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, kShift));
}

// Each kernel: decode() turns a weight block into 32 bytes, widen() makes a register of two
// such halves ready for dot(), prep() does the same for activations.

// Q4_0: nibbles n are the unsigned operand; (n - 8) x = n x - 8 x.
template <Dot D>
struct Q4_0Q8_0 {
  using WBlock = BlockQ4_0;
  using XBlock = BlockQ8_0;
  static constexpr bool kHasMin = false;
  using W = __m512i;
  static __m256i decode(const WBlock& b) { return unpack_nibbles(b.qs); }
  static W widen(__m512i w) { return w; }
  static XPair prep(__m512i x) { return {x, offset_correction<D, 3>(x)}; }
  static __m512i dot(const W& w, const XPair& x) { return dot_u8s8<D>(x.init, w, x.q); }
};

// Q4_1: nibbles as they are; the minimum m folds in as m * s per block.
template <Dot D>
struct Q4_1Q8_1 {
  using WBlock = BlockQ4_1;
  using XBlock = BlockQ8_1;
  static constexpr bool kHasMin = true;
  using W = __m512i;
  static __m256i decode(const WBlock& b) { return unpack_nibbles(b.qs); }
  static W widen(__m512i w) { return w; }
  static XPair prep(__m512i x) { return {x, _mm512_setzero_si512()}; }
  static __m512i dot(const W& w, const XPair& x) { return dot_u8s8<D>(x.init, w, x.q); }
};

// Q8_0 with VNNI: w + 128 is the unsigned operand (vpdpbusd does not saturate).
struct Q8_0Q8_0Vnni {
  using WBlock = BlockQ8_0;
  using XBlock = BlockQ8_0;
  static constexpr bool kHasMin = false;
  using W = __m512i;
  static __m256i decode(const WBlock& b) {
    return _mm256_xor_si256(load_qs(b.qs), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static W widen(__m512i w) { return w; }
  static XPair prep(__m512i x) { return {x, offset_correction<Dot::Vnni, 7>(x)}; }
  static __m512i dot(const W& w, const XPair& x) { return dot_u8s8<Dot::Vnni>(x.init, w, x.q); }
};

// Q8_0 without VNNI: maddubs saturates 16-bit pair sums, so (w + 128) x could overflow; use |w|
// against x carrying w's sign instead (AVX-512 has no vpsignb: a masked negate).
struct Q8_0Q8_0MaddUbs {
  using WBlock = BlockQ8_0;
  using XBlock = BlockQ8_0;
  static constexpr bool kHasMin = false;
  struct W {
    __m512i abs;
    __mmask64 neg;
  };
  static __m256i decode(const WBlock& b) { return load_qs(b.qs); }
  static W widen(__m512i w) { return {_mm512_abs_epi8(w), _mm512_movepi8_mask(w)}; }
  static XPair prep(__m512i x) { return {x, _mm512_setzero_si512()}; }
  static __m512i dot(const W& w, const XPair& x) {
    const __m512i xs = _mm512_mask_sub_epi8(x.q, w.neg, _mm512_setzero_si512(), x.q);
    return dot_u8s8<Dot::MaddUbs>(x.init, w.abs, xs);
  }
};

// avx2::hsum's reduction order, so halves reduce as the AVX2 kernel's registers do.
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Sum of the 16 lanes (float weights).
inline float hsum(__m512 v) {
  return hsum8(_mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

// Everything a tile needs. Activation scales are pre-converted to f32 once per token chunk,
// transposed so the NT tokens of one block sit side by side: xd[b * xstride + t].
struct TileArgs {
  const uint8_t* w;  // first weight row of the tile
  size_t wrb;
  const uint8_t* x;  // first activation row of the tile
  size_t xrb;
  int64_t k;
  const float* xd;  // [nb, xstride] activation scales, from this tile's first token (quant only)
  const float* xs;  // [nb, xstride] Q8_1 sums d*sum(q), same layout
  int64_t xstride;
  float* y;  // y[t0][r0]
  int64_t ys;
};
using TileFn = void (*)(const TileArgs&);

// An NR x NT tile's (row, token) combinations pair up in registers along tokens (weight half
// broadcast, activation halves from two tokens) unless NT is odd and NR even: then along rows.
// An odd count leaves the last register's top half empty.
template <int NR, int NT>
struct Pairing {
  static constexpr bool kAlongRows = NT % 2 != 0 && NR % 2 == 0;
  static constexpr int kW = kAlongRows ? NR / 2 : NR;        // wide weight registers
  static constexpr int kX = kAlongRows ? NT : (NT + 1) / 2;  // wide activation registers
  static constexpr int kPairs = kW * kX;
  // Register p pairs weight register w(p) with activation register x(p).
  static constexpr int w(int p) { return p / kX; }
  static constexpr int x(int p) { return p % kX; }
  // Half h of register p holds this row and token (token NT: the empty half).
  static constexpr int row(int p, int h) { return kAlongRows ? 2 * w(p) + h : w(p); }
  static constexpr int tok(int p, int h) { return kAlongRows ? x(p) : 2 * x(p) + h; }
};

inline __m512i broadcast(__m256i v) {
  return _mm512_broadcast_i64x4(v);
}
// Lanes 0..7 = a, 8..15 = b.
inline __m512 halves(float a, float b) {
  return _mm512_mask_broadcastss_ps(_mm512_set1_ps(a), 0xff00, _mm_set_ss(b));
}

// NR weight rows x NT tokens: each weight block is decoded once per NT tokens, each activation
// block loaded once per NR rows. The unroll pragmas keep the arrays in registers (GCC
// scalar-replaces them only after the loops unroll).
template <class K, int NR, int NT>
void quant_tile(const TileArgs& a) {
  using P = Pairing<NR, NT>;
  using WB = typename K::WBlock;
  using XB = typename K::XBlock;
  const uint8_t* const w = a.w;
  const uint8_t* const x = a.x;
  const size_t wrb = a.wrb, xrb = a.xrb;
  const float* xd = a.xd;
  const float* xs = a.xs;
  const int64_t xstride = a.xstride;
  const int64_t nb = a.k / 32;
  __m512 acc[P::kPairs];
  __m128 mins[NR];  // lane t: sum over blocks of m_w * s_x for token t (as the AVX2 kernel)
#pragma GCC unroll 8
  for (int p = 0; p < P::kPairs; ++p) acc[p] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) mins[r] = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, xd += xstride, xs += xstride) {
    __m256i wq[NR];
    float wd[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const WB& blk = reinterpret_cast<const WB*>(w + r * wrb)[b];
      wq[r] = K::decode(blk);
      if constexpr (K::kHasMin) {
        // d and m are adjacent halves: one conversion yields both.
        uint32_t dm_bits;
        std::memcpy(&dm_bits, &blk, sizeof(dm_bits));
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dm_bits)));
        wd[r] = _mm_cvtss_f32(dm);
        mins[r] = _mm_fmadd_ps(_mm_permute_ps(dm, 0x55), _mm_loadu_ps(xs), mins[r]);
      } else {
        wd[r] = _cvtsh_ss(blk.d);
      }
    }
    typename K::W ww[P::kW];
    __m512 wdw[P::kW];
#pragma GCC unroll 4
    for (int i = 0; i < P::kW; ++i) {
      if constexpr (P::kAlongRows) {
        ww[i] = K::widen(join(wq[2 * i], wq[2 * i + 1]));
        wdw[i] = halves(wd[2 * i], wd[2 * i + 1]);
      } else {
        ww[i] = K::widen(broadcast(wq[i]));
        wdw[i] = _mm512_set1_ps(wd[i]);
      }
    }
    XPair xw[P::kX];
    __m512 xdw[P::kX];
#pragma GCC unroll 4
    for (int j = 0; j < P::kX; ++j) {
      const auto qs = [&](int t) {
        return load_qs(reinterpret_cast<const XB*>(x + t * xrb)[b].qs);
      };
      if constexpr (P::kAlongRows) {
        xw[j] = K::prep(broadcast(qs(j)));
        xdw[j] = _mm512_set1_ps(xd[j]);
      } else if (2 * j + 1 < NT) {
        xw[j] = K::prep(join(qs(2 * j), qs(2 * j + 1)));
        xdw[j] = halves(xd[2 * j], xd[2 * j + 1]);
      } else {
        xw[j] = K::prep(join(qs(2 * j), _mm256_setzero_si256()));
        xdw[j] = halves(xd[2 * j], 0.0f);
      }
    }
#pragma GCC unroll 8
    for (int p = 0; p < P::kPairs; ++p) {
      const __m512 sums = _mm512_cvtepi32_ps(K::dot(ww[P::w(p)], xw[P::x(p)]));
      // Per lane the same f32 product wd * xd as the AVX2 kernel's.
      acc[p] = _mm512_fmadd_ps(sums, _mm512_mul_ps(wdw[P::w(p)], xdw[P::x(p)]), acc[p]);
    }
  }
  float m[NR][4];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) _mm_storeu_ps(m[r], mins[r]);
#pragma GCC unroll 8
  for (int p = 0; p < P::kPairs; ++p) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int r = P::row(p, h), t = P::tok(p, h);
      if (t >= NT) break;
      const __m256 half =
          h == 0 ? _mm512_castps512_ps256(acc[p])
                 : _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[p]), 1));
      float v = hsum8(half);
      if constexpr (K::kHasMin) v += m[r][t];
      a.y[t * a.ys + r] = v;
    }
  }
}

// Converts the chunk's activation scales (and Q8_1 sums) to f32, block-major.
template <class XB>
void convert_act_scales(const uint8_t* x, size_t xrb, int64_t n_tok, int64_t nb, float* xd,
                        float* xs) {
  for (int64_t t = 0; t < n_tok; ++t) {
    const XB* row = reinterpret_cast<const XB*>(x + t * xrb);
    for (int64_t b = 0; b < nb; ++b) {
      xd[b * n_tok + t] = _cvtsh_ss(row[b].d);
      if constexpr (sizeof(XB) == sizeof(BlockQ8_1)) xs[b * n_tok + t] = _cvtsh_ss(row[b].s);
    }
  }
}

// ---- float weights: 16 lanes per step (32 with vdpbf16ps), masked loads for the tail ----

inline __mmask16 tail_mask16(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

struct F32Load {
  using T = float;
  static __m512 load(const T* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct F16Load {
  using T = uint16_t;
  static __m512 load(const T* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
};
struct BF16Load {
  using T = uint16_t;
  static __m512 load(const T* p, __mmask16 m) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
};
// How far ahead a decode tile asks for its weight rows, as the AVX2 float tile does (see there).
constexpr int kPrefetchBytes = 4096;

// Weights and activations of one type L (a load struct above).
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
  __m512 acc[NR][NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  if constexpr (NT == 1) {
    // Decode streams the weights: one row after another, so memory is read in order. Rows
    // interleaved 32 bytes at a time reached a third of the bandwidth (the hardware prefetcher
    // does not follow them). Each row keeps its one accumulator and order.
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      for (int64_t i = 0; i < k; i += 16) {
        const __mmask16 m = tail_mask16(k - i);
        _mm_prefetch(reinterpret_cast<const char*>(wr[r] + i) + kPrefetchBytes, _MM_HINT_T0);
        acc[r][0] = _mm512_fmadd_ps(L::load(wr[r] + i, m), L::load(xr[0] + i, m), acc[r][0]);
      }
    }
  } else {
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = tail_mask16(k - i);
      __m512 wv[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) wv[r] = L::load(wr[r] + i, m);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m512 xv = L::load(xr[t] + i, m);
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) a.y[t * a.ys + r] = hsum(acc[r][t]);
  }
}

// BF16 x BF16 with vdpbf16ps: products are exact in f32, pairs summed into f32 lanes.
template <int NR, int NT>
void bf16_dot_tile(const TileArgs& a) {
  const int64_t k = a.k;
  const uint16_t* wr[NR];
  const uint16_t* xr[NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) wr[r] = reinterpret_cast<const uint16_t*>(a.w + r * a.wrb);
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) xr[t] = reinterpret_cast<const uint16_t*>(a.x + t * a.xrb);
  __m512 acc[NR][NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < k; i += 32) {
    const int64_t left = k - i;
    const __mmask32 m = left >= 32 ? ~0u : (1u << left) - 1;
    __m512bh wv[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(m, wr[r] + i);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, xr[t] + i);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) a.y[t * a.ys + r] = hsum(acc[r][t]);
  }
}

template <class K, int NR, int NT>
struct QuantTile {
  static constexpr bool kQuant = true;
  static constexpr TileFn fn = quant_tile<K, NR, NT>;
};
template <class L, int NR, int NT>
struct FloatTile {
  static constexpr bool kQuant = false;
  static constexpr TileFn fn = float_tile<L, NR, NT>;
};
struct Bf16Dot {};
template <class Unused, int NR, int NT>
struct Bf16DotTile {
  static constexpr bool kQuant = false;
  static constexpr TileFn fn = bf16_dot_tile<NR, NT>;
};

template <template <class, int, int> class Tile, class K, int NR>
TileFn pick_tokens(int nt) {
  switch (nt) {
    case 4:
      return Tile<K, NR, 4>::fn;
    case 3:
      return Tile<K, NR, 3>::fn;
    case 2:
      return Tile<K, NR, 2>::fn;
    default:
      return Tile<K, NR, 1>::fn;
  }
}

template <template <class, int, int> class Tile, class K>
TileFn pick_tile(int nr, int nt) {
  if (nr == 4) return pick_tokens<Tile, K, 4>(nt);
  if (nr == 2) return pick_tokens<Tile, K, 2>(nt);
  return pick_tokens<Tile, K, 1>(nt);
}

// Activation scales for one token chunk live on the stack: [2, nb, chunk] floats
// + 4 so the last token's 4-lane minimum-sum loads stay inside.
constexpr int64_t kScaleFloats = 16384;

// Tiles of up to 4 rows x 4 tokens: 16 f32 accumulators (8 paired ones for quantized weights)
// fit AVX-512's 32 registers with the operands.
template <template <class, int, int> class Tile, class K>
bool run_tiles(const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k, float* y,
               int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  constexpr bool kQuant = Tile<K, 1, 1>::kQuant;
  const int64_t nb = k / 32;
  // Token chunks whose activations stay in L2 while the thread's weight rows stream past.
  constexpr int64_t kActBudget = 512 * 1024;
  int64_t chunk = static_cast<int64_t>(kActBudget / xrb) / 4 * 4;
  if (chunk < 4) chunk = 4;
  if constexpr (kQuant) {
    const int64_t fit = (kScaleFloats - 4) / (2 * nb);
    if (fit < 1) return false;  // rows over 256k elements: the AVX2 kernels take them
    chunk = min_i64(chunk, fit >= 4 ? fit / 4 * 4 : fit);
  }
  alignas(64) float scales[kQuant ? kScaleFloats : 1];
  for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
    const int64_t c1 = min_i64(t1, c0 + chunk);
    const int64_t nt_chunk = c1 - c0;
    TileArgs a{};
    a.wrb = wrb;
    a.xrb = xrb;
    a.k = k;
    a.xstride = nt_chunk;
    a.ys = ys;
    if constexpr (kQuant) {
      convert_act_scales<typename K::XBlock>(x + c0 * xrb, xrb, nt_chunk, nb, scales,
                                             scales + nb * nt_chunk);
    }
    for (int64_t r = r0; r < r1;) {
      const int nr = r1 - r >= 4 ? 4 : (r1 - r >= 2 ? 2 : 1);
      for (int64_t t = c0; t < c1; t += 4) {
        const int nt = static_cast<int>(min_i64(4, c1 - t));
        a.w = w + r * wrb;
        a.x = x + t * xrb;
        a.y = y + t * ys + r;
        if constexpr (kQuant) {
          a.xd = scales + (t - c0);
          a.xs = scales + nb * nt_chunk + (t - c0);
        }
        pick_tile<Tile, K>(nr, nt)(a);
      }
      r += nr;
    }
  }
  return true;
}

template <template <Dot> class K>
bool run_quant(bool vnni, const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k,
               float* y, int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  if (vnni) return run_tiles<QuantTile, K<Dot::Vnni>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
  return run_tiles<QuantTile, K<Dot::MaddUbs>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
}

// The thread's f32 copy of F16 activations, grown to the largest chunk and kept (one per
// thread that runs matmuls). A plain pointer: no std template may be instantiated here.
struct WidenBuffer {
  float* data = nullptr;
  size_t floats = 0;
  ~WidenBuffer() { std::free(data); }
  float* get(size_t n) {
    if (n > floats) {
      std::free(data);
      data = static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
      floats = data ? n : 0;
    }
    return data;
  }
};

// F16 values widened to f32 (exact): n rows of k from src (src_rb bytes apart) to dst (k apart).
void widen_rows(const uint8_t* src, size_t src_rb, int64_t n, int64_t k, float* dst) {
  for (int64_t r = 0; r < n; ++r) {
    const auto* s = reinterpret_cast<const uint16_t*>(src + r * src_rb);
    float* d = dst + r * k;
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = tail_mask16(k - i);
      _mm512_mask_storeu_ps(d + i, m, F16Load::load(s + i, m));
    }
  }
}

// Weight rows per widened panel: 16 rows of k <= 1536 (96 KB of f32) stay in L2 while every
// token tile of a chunk reads them.
constexpr int64_t kPanelRows = 16;

// F16 weights x F16 activations for several tokens. Both sides are widened to f32 once (each
// chunk of tokens, then each panel of weight rows within it), so the tiles only load and FMA:
// the same values and sums as converting inside the tiles, where the conversions took a third
// of the FMA ports.
bool f16_widened(const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k, float* y,
                 int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  // The f32 chunk stays within run_tiles' L2 budget for activations.
  const int64_t fit = (512 * 1024) / (k * 4) / 4 * 4;
  const int64_t chunk = fit > 4 ? fit : 4;
  thread_local WidenBuffer xbuf, wbuf;
  float* xf = xbuf.get(static_cast<size_t>(min_i64(chunk, t1 - t0) * k));
  float* wf = wbuf.get(static_cast<size_t>(kPanelRows * k));
  if (!xf || !wf) return run_tiles<FloatTile, F16Load>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
  const auto frb = static_cast<size_t>(k) * sizeof(float);
  for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
    const int64_t c1 = min_i64(t1, c0 + chunk);
    widen_rows(x + c0 * xrb, xrb, c1 - c0, k, xf);
    for (int64_t p0 = r0; p0 < r1; p0 += kPanelRows) {
      const int64_t p1 = min_i64(r1, p0 + kPanelRows);
      widen_rows(w + p0 * wrb, wrb, p1 - p0, k, wf);
      // y is addressed from token c0 and row p0: where the widened chunk and panel start.
      run_tiles<FloatTile, F32Load>(reinterpret_cast<const uint8_t*>(wf), frb,
                                    reinterpret_cast<const uint8_t*>(xf), frb, k, y + c0 * ys + p0,
                                    ys, 0, p1 - p0, 0, c1 - c0);
    }
  }
  return true;
}

}  // namespace

bool matmul_range(DType wtype, const void* w, size_t w_row_bytes, const void* xq, size_t xrb,
                  int64_t k, float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0,
                  int64_t t1, bool vnni, bool bf16) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(xq);
  const size_t wrb = w_row_bytes;
  // One token (decode) streams each weight row once; measured against the AVX2 kernels on
  // 1536x576 weights, this level was 0.80-0.97x for Q4_1/Q4_0, 0.92-0.99x for F16 and 1.07x for
  // Q8_0, but 1.34-1.44x for BF16 (vdpbf16ps). So decode keeps AVX2 except for BF16; prefill
  // (64 tokens: 1.06-1.27x Q4_x, 1.45x Q8_0, 1.11-1.20x F16, 1.33x+ BF16) takes AVX-512.
  // Only the quantized kernels, which sum exactly as the AVX2 ones do, may switch by token
  // count: a float row's result must not depend on how many rows share its step (batch
  // invariance), so float weights always take this level.
  const bool quantized = wtype == DType::Q4_0 || wtype == DType::Q4_1 || wtype == DType::Q8_0;
  if (t1 - t0 == 1 && quantized) return false;
  switch (wtype) {
    case DType::Q4_0:
      return run_quant<Q4_0Q8_0>(vnni, wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q4_1:
      return run_quant<Q4_1Q8_1>(vnni, wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q8_0:
      if (vnni) {
        return run_tiles<QuantTile, Q8_0Q8_0Vnni>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
      }
      return run_tiles<QuantTile, Q8_0Q8_0MaddUbs>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0,
                                                   t1);
    case DType::F16:
      if (t1 - t0 > 1) return f16_widened(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
      return run_tiles<FloatTile, F16Load>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::BF16:
      if (bf16) {
        return run_tiles<Bf16DotTile, Bf16Dot>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
      }
      return run_tiles<FloatTile, BF16Load>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    case DType::F32:
      return run_tiles<FloatTile, F32Load>(wb, wrb, xb, xrb, k, y, y_stride, r0, r1, t0, t1);
    default:
      return false;
  }
}

}  // namespace autoglm::cpu::avx512
#endif  // __x86_64__
