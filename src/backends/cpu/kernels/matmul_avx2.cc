#include "backends/cpu/kernels/matmul_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/isa.h"
#include "core/half.h"

namespace autoglm::cpu::avx2 {
namespace {

// ---- activation quantization (byte-exact with quantize_row_activation) ----

// Quantizes one 32-float block to int8; returns the f32 scale and the sum of the quants.
AUTOGLM_AVX2 inline float quantize_block_q8(const float* x, int8_t* qs, int32_t* sum) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, v[i]));
  }
  const float max = hmax(amax);
  const float d = max / 127.0f;
  const __m256 id = _mm256_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
  __m256i q[4];
  // cvtps rounds with the default mode: nearest, ties to even.
  for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
  *sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
  // The packs interleave 128-bit lanes; the permute restores element order.
  const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
  const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i ordered =
      _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), ordered);
  return d;
}

AUTOGLM_AVX2 void convert_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sum;
    y[b].d = static_cast<uint16_t>(_cvtss_sh(quantize_block_q8(x + 32 * b, y[b].qs, &sum), 0));
  }
}

AUTOGLM_AVX2 void convert_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sum;
    const float d = quantize_block_q8(x + 32 * b, y[b].qs, &sum);
    y[b].d = static_cast<uint16_t>(_cvtss_sh(d, 0));
    y[b].s = static_cast<uint16_t>(_cvtss_sh(static_cast<float>(sum) * d, 0));
  }
}

AUTOGLM_AVX2 void convert_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store_f16(y + i, _mm256_loadu_ps(x + i));
  for (; i < n; ++i) y[i] = static_cast<uint16_t>(_cvtss_sh(x[i], 0));
}

// ---- block dot products: one weight block against one activation block ----
// Each kernel decodes a weight block once (W), then dots it with several activation blocks.

// How 32 u8 x s8 products become 8 i32 sums: maddubs + madd on plain AVX2, one vpdpbusd with
// VNNI. The VNNI forms are inline asm so these functions need no extra target attribute; they
// only run when active_isa() reported the instruction.
enum class Dot { MaddUbs, VnniVex, VnniEvex };

template <Dot D>
AUTOGLM_AVX2 inline __m256 dot_u8s8(__m256i u, __m256i s) {
  __m256i sum;
  if constexpr (D == Dot::MaddUbs) {
    sum = _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  } else if constexpr (D == Dot::VnniVex) {
    sum = _mm256_setzero_si256();
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(sum) : "x"(u), "x"(s));
  } else {
    sum = _mm256_setzero_si256();
    asm("vpdpbusd %2, %1, %0" : "+x"(sum) : "x"(u), "x"(s));
  }
  return _mm256_cvtepi32_ps(sum);
}

// Signed x signed through the u8 x s8 product: |w| times x carrying w's sign.
struct SignedW {
  __m256i abs, sgn;
};

// 16 packed bytes → 32 nibbles: low nibbles (elements 0..15) then high (16..31).
AUTOGLM_AVX2 inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

template <Dot D>
struct Q4_0Q8_0 {
  using WBlock = BlockQ4_0;
  using XBlock = BlockQ8_0;
  static constexpr DType kActType = DType::Q8_0;
  using W = SignedW;
  static constexpr bool kHasMin = false;
  AUTOGLM_AVX2 static W decode(const WBlock& b) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(b.qs), _mm256_set1_epi8(8));
    return {_mm256_sign_epi8(q, q), q};
  }
  AUTOGLM_AVX2 static __m256 dot(const W& w, __m256i x) {
    return dot_u8s8<D>(w.abs, _mm256_sign_epi8(x, w.sgn));
  }
};

template <Dot D>
struct Q8_0Q8_0 {
  using WBlock = BlockQ8_0;
  using XBlock = BlockQ8_0;
  static constexpr DType kActType = DType::Q8_0;
  using W = SignedW;
  static constexpr bool kHasMin = false;
  AUTOGLM_AVX2 static W decode(const WBlock& b) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return {_mm256_sign_epi8(q, q), q};
  }
  AUTOGLM_AVX2 static __m256 dot(const W& w, __m256i x) {
    return dot_u8s8<D>(w.abs, _mm256_sign_epi8(x, w.sgn));
  }
};

// Nibbles are already unsigned, so they feed the u8 x s8 product directly; the minimum m folds
// in as m*s.
template <Dot D>
struct Q4_1Q8_1 {
  using WBlock = BlockQ4_1;
  using XBlock = BlockQ8_1;
  static constexpr DType kActType = DType::Q8_1;
  using W = __m256i;
  static constexpr bool kHasMin = true;
  AUTOGLM_AVX2 static W decode(const WBlock& b) { return unpack_nibbles(b.qs); }
  AUTOGLM_AVX2 static __m256 dot(const W& w, __m256i x) { return dot_u8s8<D>(w, x); }
};

// Lane i of v (i is a constant after unrolling).
AUTOGLM_AVX2 inline float lane(__m128 v, int i) {
  switch (i) {
    case 0:
      return _mm_cvtss_f32(v);
    case 1:
      return _mm_cvtss_f32(_mm_permute_ps(v, 0x55));
    case 2:
      return _mm_cvtss_f32(_mm_permute_ps(v, 0xaa));
    default:
      return _mm_cvtss_f32(_mm_permute_ps(v, 0xff));
  }
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

// NR weight rows x NT tokens: each weight block is decoded once per NT tokens, each activation
// block loaded once per NR rows. The unroll pragmas matter: GCC keeps the accumulator arrays in
// registers only when the NR/NT loops unroll before scalar replacement.
template <class K, int NR, int NT>
AUTOGLM_AVX2 void quant_tile(const TileArgs& a) {
  using WB = typename K::WBlock;
  using XB = typename K::XBlock;
  // Locals, not loads through `a`, so the loop keeps them in registers.
  const uint8_t* const w = a.w;
  const uint8_t* const x = a.x;
  const size_t wrb = a.wrb, xrb = a.xrb;
  const float* xd = a.xd;
  const float* xs = a.xs;
  const int64_t xstride = a.xstride;
  const int64_t nb = a.k / 32;
  __m256 acc[NR][NT];
  __m128 mins[NR];  // lane t: sum over blocks of m_w * s_x for token t
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    mins[r] = _mm_setzero_ps();
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b, xd += xstride, xs += xstride) {
    typename K::W wq[NR];
    __m256 wd[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const WB& blk = reinterpret_cast<const WB*>(w + r * wrb)[b];
      wq[r] = K::decode(blk);
      if constexpr (K::kHasMin) {
        // d and m are adjacent halves: one conversion yields both.
        uint32_t dm_bits;
        std::memcpy(&dm_bits, &blk, sizeof(dm_bits));
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dm_bits)));
        wd[r] = _mm256_broadcastss_ps(dm);
        mins[r] = _mm_fmadd_ps(_mm_permute_ps(dm, 0x55), _mm_loadu_ps(xs), mins[r]);
      } else {
        wd[r] = _mm256_set1_ps(_cvtsh_ss(blk.d));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const XB& xb = reinterpret_cast<const XB*>(x + t * xrb)[b];
      const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      const __m256 xdt = _mm256_broadcast_ss(xd + t);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        acc[r][t] = _mm256_fmadd_ps(K::dot(wq[r], xq), _mm256_mul_ps(wd[r], xdt), acc[r][t]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      float v = hsum(acc[r][t]);
      if constexpr (K::kHasMin) v += lane(mins[r], t);
      a.y[t * a.ys + r] = v;
    }
  }
}

// Converts the chunk's activation scales (and Q8_1 sums) to f32, block-major.
template <class XB>
AUTOGLM_AVX2 void convert_act_scales(const uint8_t* x, size_t xrb, int64_t n_tok, int64_t nb,
                                     float* xd, float* xs) {
  for (int64_t t = 0; t < n_tok; ++t) {
    const XB* row = reinterpret_cast<const XB*>(x + t * xrb);
    for (int64_t b = 0; b < nb; ++b) {
      xd[b * n_tok + t] = _cvtsh_ss(row[b].d);
      if constexpr (sizeof(XB) == sizeof(BlockQ8_1)) xs[b * n_tok + t] = _cvtsh_ss(row[b].s);
    }
  }
}

// ---- float weights: 8 lanes per step, scalar tail for k % 8 ----

struct F32Load {
  using T = float;
  AUTOGLM_AVX2 static __m256 load(const T* p) { return _mm256_loadu_ps(p); }
  static float scalar(T v) { return v; }
};
struct F16Load {
  using T = uint16_t;
  AUTOGLM_AVX2 static __m256 load(const T* p) { return load_f16(p); }
  AUTOGLM_AVX2 static float scalar(T v) { return _cvtsh_ss(v); }
};
struct BF16Load {
  using T = uint16_t;
  AUTOGLM_AVX2 static __m256 load(const T* p) { return load_bf16(p); }
  static float scalar(T v) { return bf16_to_fp32(v); }
};

// How far ahead a decode tile asks for its weight rows: the hardware prefetchers alone fell
// behind the float GEMV (F16-shape decode 27 -> 40 tok/s at this level; with the AVX-512 tile
// 31 -> 41 on 1 thread, 58 -> 80 on 2; Sapphire Rapids). 1-2 KB ahead gained half of that.
constexpr int kPrefetchBytes = 4096;

template <class L, int NR, int NT>
AUTOGLM_AVX2 void float_tile(const TileArgs& a) {
  using T = typename L::T;
  const int64_t k = a.k;
  const T* wr[NR];
  const T* xr[NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) wr[r] = reinterpret_cast<const T*>(a.w + r * a.wrb);
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) xr[t] = reinterpret_cast<const T*>(a.x + t * a.xrb);
  __m256 acc[NR][NT];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  int64_t i = 0;
  if constexpr (NT == 1) {
    // Decode streams the weights: one row after another, so memory is read in order (rows
    // interleaved a vector at a time defeat the hardware prefetcher). Same order per row.
    const int64_t k8 = k / 8 * 8;
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      for (int64_t e = 0; e < k8; e += 8) {
        _mm_prefetch(reinterpret_cast<const char*>(wr[r] + e) + kPrefetchBytes, _MM_HINT_T0);
        acc[r][0] = _mm256_fmadd_ps(L::load(wr[r] + e), L::load(xr[0] + e), acc[r][0]);
      }
    }
    i = k8;
  }
  for (; i + 8 <= k; i += 8) {
    __m256 wv[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) wv[r] = L::load(wr[r] + i);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const __m256 xv = L::load(xr[t] + i);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t j = i; j < k; ++j) s += L::scalar(wr[r][j]) * L::scalar(xr[t][j]);
      a.y[t * a.ys + r] = s;
    }
  }
}

template <template <class, int, int> class Tile, class K>
TileFn pick_tile(int nr, int nt) {
  if (nr == 4) return Tile<K, 4, 1>::fn;
  if (nr == 2) {
    switch (nt) {
      case 4:
        return Tile<K, 2, 4>::fn;
      case 3:
        return Tile<K, 2, 3>::fn;
      case 2:
        return Tile<K, 2, 2>::fn;
      default:
        return Tile<K, 2, 1>::fn;
    }
  }
  switch (nt) {
    case 4:
      return Tile<K, 1, 4>::fn;
    case 3:
      return Tile<K, 1, 3>::fn;
    case 2:
      return Tile<K, 1, 2>::fn;
    default:
      return Tile<K, 1, 1>::fn;
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

// Decode (one token) reads 4 weight rows per pass to keep more loads in flight; prefill uses
// 2 rows x 4 tokens so each weight block is decoded once per 4 tokens.
template <template <class, int, int> class Tile, class K>
void run_tiles(const uint8_t* w, size_t wrb, const uint8_t* x, size_t xrb, int64_t k, float* y,
               int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  constexpr bool kQuant = Tile<K, 1, 1>::kQuant;
  const int nr_main = t1 - t0 == 1 ? 4 : 2;
  const int64_t nb = k / 32;
  // Token chunks whose activations stay in L2 while the thread's weight rows stream past.
  constexpr size_t kActBudget = 512 * 1024;
  const int64_t chunk = std::max<int64_t>(4, static_cast<int64_t>(kActBudget / xrb) / 4 * 4);
  thread_local std::vector<float> scales;  // [2, nb, chunk] + padding for 4-lane loads; grows
  for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
    const int64_t c1 = std::min(t1, c0 + chunk);
    const int64_t nt_chunk = c1 - c0;
    TileArgs a{};
    a.wrb = wrb;
    a.xrb = xrb;
    a.k = k;
    a.xstride = nt_chunk;
    a.ys = ys;
    if constexpr (kQuant) {
      const size_t need = static_cast<size_t>(2 * nb * nt_chunk + 4);
      if (scales.size() < need) scales.resize(need);
      convert_act_scales<typename K::XBlock>(x + c0 * xrb, xrb, nt_chunk, nb, scales.data(),
                                             scales.data() + nb * nt_chunk);
    }
    for (int64_t r = r0; r < r1;) {
      const int nr = r1 - r >= nr_main ? nr_main : (r1 - r >= 2 ? 2 : 1);
      for (int64_t t = c0; t < c1; t += 4) {
        const int nt = static_cast<int>(std::min<int64_t>(4, c1 - t));
        a.w = w + r * wrb;
        a.x = x + t * xrb;
        a.y = y + t * ys + r;
        if constexpr (kQuant) {
          a.xd = scales.data() + (t - c0);
          a.xs = scales.data() + nb * nt_chunk + (t - c0);
        }
        pick_tile<Tile, K>(nr, nt)(a);
      }
      r += nr;
    }
  }
}

}  // namespace

void convert_row(DType act, const float* x, void* out, int64_t n) {
  switch (act) {
    case DType::Q8_0:
      return convert_q8_0(x, static_cast<BlockQ8_0*>(out), n / 32);
    case DType::Q8_1:
      return convert_q8_1(x, static_cast<BlockQ8_1*>(out), n / 32);
    case DType::F16:
      return convert_f16(x, static_cast<uint16_t*>(out), n);
    default:
      std::abort();  // callers route other types to the scalar path
  }
}

namespace {

template <template <Dot> class K>
void run_quant(Dot dot, const uint8_t* w, size_t wrb, const uint8_t* x, int64_t k, float* y,
               int64_t ys, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const size_t xrb = dtype_row_bytes(K<Dot::MaddUbs>::kActType, k);
  switch (dot) {
    case Dot::VnniVex:
      return run_tiles<QuantTile, K<Dot::VnniVex>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
    case Dot::VnniEvex:
      return run_tiles<QuantTile, K<Dot::VnniEvex>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
    default:
      return run_tiles<QuantTile, K<Dot::MaddUbs>>(w, wrb, x, xrb, k, y, ys, r0, r1, t0, t1);
  }
}

Dot dot_kind() {
  if (!has_vnni(active_isa())) return Dot::MaddUbs;
  // AVX-VNNI's VEX form where present; otherwise the EVEX form of AVX512-VNNI on ymm registers.
  static const bool vex = __builtin_cpu_supports("avxvnni");
  return vex ? Dot::VnniVex : Dot::VnniEvex;
}

}  // namespace

void matmul_range(DType wtype, const void* w, size_t w_row_bytes, const void* xq, int64_t k,
                  float* y, int64_t y_stride, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(xq);
  switch (wtype) {
    case DType::Q4_0:
      return run_quant<Q4_0Q8_0>(dot_kind(), wb, w_row_bytes, xb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q4_1:
      return run_quant<Q4_1Q8_1>(dot_kind(), wb, w_row_bytes, xb, k, y, y_stride, r0, r1, t0, t1);
    case DType::Q8_0:
      return run_quant<Q8_0Q8_0>(dot_kind(), wb, w_row_bytes, xb, k, y, y_stride, r0, r1, t0, t1);
    case DType::F16:
      return run_tiles<FloatTile, F16Load>(wb, w_row_bytes, xb, 2 * k, k, y, y_stride, r0, r1, t0,
                                           t1);
    case DType::BF16:
      return run_tiles<FloatTile, BF16Load>(wb, w_row_bytes, xb, 2 * k, k, y, y_stride, r0, r1, t0,
                                            t1);
    case DType::F32:
      return run_tiles<FloatTile, F32Load>(wb, w_row_bytes, xb, 4 * k, k, y, y_stride, r0, r1, t0,
                                           t1);
    default:
      std::abort();
  }
}

}  // namespace autoglm::cpu::avx2
#endif  // __x86_64__
