#include "backends/cpu/kernels/packed_matmul_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "core/quant.h"

// Compiled with AVX-512 flags: internal linkage only and no std templates (see matmul_avx512.cc).

namespace autoglm::cpu::avx512 {
namespace {

constexpr int kRows = 16;
constexpr int64_t kScaleEntries = 2048;  // per token chunk: [nb, chunk] entries per array

int64_t min_i64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// 4 x 64 packed bytes → 8 registers: chunk i's low nibbles are group i, its high ones group i + 4.
void unpack_nibbles(const uint8_t* qs, __m512i q[8]) {
  const __m512i mask = _mm512_set1_epi8(0x0f);
  for (int i = 0; i < 4; ++i) {
    const __m512i v = _mm512_loadu_si512(qs + 64 * i);
    q[i] = _mm512_and_si512(v, mask);
    q[i + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
  }
}

// Per weight type: how a packed block turns into 8 registers of 16 rows x 4 bytes (unsigned),
// where its scales sit, and what the activation side folds in.
struct Q4_0Kernel {
  using XBlock = BlockQ8_0;
  static constexpr bool kNibbles = true;  // load() unpacks (worth doing once: unpack_group)
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 8;  // stored nibble n means n - 8
  static constexpr size_t kBlockBytes = 2 * kRows + 4 * 64;
  static void load(const uint8_t* blk, __m512i q[8]) { unpack_nibbles(blk + 2 * kRows, q); }
};

struct Q4_1Kernel {
  using XBlock = BlockQ8_1;
  static constexpr bool kNibbles = true;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  static constexpr size_t kBlockBytes = 4 * kRows + 4 * 64;
  static void load(const uint8_t* blk, __m512i q[8]) { unpack_nibbles(blk + 4 * kRows, q); }
};

struct Q8_0Kernel {
  using XBlock = BlockQ8_0;
  static constexpr bool kNibbles = false;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 128;  // stored w + 128
  static constexpr size_t kBlockBytes = 2 * kRows + 8 * 64;
  static void load(const uint8_t* blk, __m512i q[8]) {
    const uint8_t* qs = blk + 2 * kRows;
    for (int g = 0; g < 8; ++g) q[g] = _mm512_loadu_si512(qs + 64 * g);
  }
};

// The chunk's activation scales as f32, block-major ([b * nt + t]), and what each block adds:
// Q8_1's d*sum(q) (for the weights' minimum), or for offset-stored weights -offset times the sum
// of each group of 4 activations ([(b * nt + t) * 8 + g]) and of the whole block ([b * nt + t]).
// With xq (the block order's tiles), also each block's 32 quants, block-major ([b * nt + t]):
// a tile then finds every token's at fixed offsets from one pointer.
template <class K>
void prepare_activations(const uint8_t* x, size_t xrb, int64_t nt, int64_t nb, float* xd, float* xs,
                         int32_t* corr, int32_t* corr_sum, int8_t* xq) {
  using XB = typename K::XBlock;
  for (int64_t t = 0; t < nt; ++t) {
    const XB* row = reinterpret_cast<const XB*>(x + t * xrb);
    for (int64_t b = 0; b < nb; ++b) {
      if (xq) std::memcpy(xq + (b * nt + t) * 32, row[b].qs, 32);
      xd[b * nt + t] = _cvtsh_ss(row[b].d);
      if constexpr (K::kHasMin) {
        xs[b * nt + t] = _cvtsh_ss(row[b].s);
      } else {
        // Sums of 4 signed bytes: a dot product with ones, widened to i32 by the pair-add.
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[b].qs));
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
        const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(-K::kOffset));
        int32_t* c = corr + (b * nt + t) * 8;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), quads);
        corr_sum[b * nt + t] = c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7];
      }
    }
  }
}

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The minimum's term of a Q4_1 block of 16 rows for one token: m_w (after the row scales, at
// blk + 2 * kRows) times the token's block sum xs.
template <class K>
inline void add_min(const uint8_t* blk, float xs, __m512& mins) {
  if constexpr (K::kHasMin) {
    const __m512 mw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2 * kRows)));
    mins = _mm512_fmadd_ps(mw, _mm512_set1_ps(xs), mins);
  }
}

// A token's 16 results, the minimum's sum added last (after the products, as matmul() does).
template <class K>
inline void store(float* y, __m512 sum, __m512 mins, __mmask16 mask) {
  if constexpr (K::kHasMin) sum = _mm512_add_ps(sum, mins);
  _mm512_mask_storeu_ps(y, mask, sum);
}

// Blocks [b0, b1) of the next group for a tile to pull into L1 while it computes, one per block
// step. Inside the model the weights stream from L3 or memory, and the hardware prefetchers
// alone left both the GEMV and the 16-token GEMM about 1.3x slower than with their weights in L2
// (Sapphire Rapids; model decode 1.3-1.5x faster with it). A group's tiles share its next one:
// asked for all at once, its lines filled the line-fill buffers and stalled the tile (11 % of a
// lane-order tile's time).
struct Prefetch {
  const uint8_t* next = nullptr;  // the next group, or null
  int64_t b0 = 0, b1 = 0;
};

template <class K>
inline void prefetch_block(const Prefetch& pf, int64_t step) {
  const int64_t b = pf.b0 + step;
  if (!pf.next || b >= pf.b1) return;
  const char* p = reinterpret_cast<const char*>(pf.next + b * K::kBlockBytes);
  for (size_t o = 0; o < K::kBlockBytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

// One group of 16 rows x NT tokens over all blocks, lane = row. Each (row, token) keeps 8 f32
// partial sums, one per group of 4 elements of a block, and reduces them at the end in the
// order the AVX2 kernel's register does (avx2::hsum): the same integers, the same f32
// operations, so results equal matmul()'s bit for bit, whatever NT is (batch invariance) and
// whichever kernel a step takes.
template <class K, int NT>
void tile(const uint8_t* wg, const __m512i* unpacked, const uint8_t* x, size_t xrb, int64_t nb,
          const float* xd, const float* xs, const int32_t* corr, int64_t xstride, float* y,
          int64_t ys, __mmask16 store_mask, const Prefetch& pf) {
  using XB = typename K::XBlock;
  __m512 acc[NT][8];
  __m512 mins[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    mins[t] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) acc[t][g] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wg + b * K::kBlockBytes;
    prefetch_block<K>(pf, b);
    __m512i q[8];
    if (unpacked) {
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) q[g] = _mm512_load_si512(unpacked + 8 * b + g);
    } else {
      K::load(blk, q);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = reinterpret_cast<const XB*>(x + t * xrb)[b].qs;
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(xd[b * xstride + t]));
      const int32_t* c = corr + (b * xstride + t) * 8;
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
        const __m512i init = K::kOffset ? _mm512_set1_epi32(c[g]) : _mm512_setzero_si512();
        const __m512i dot =
            _mm512_dpbusd_epi32(init, q[g], _mm512_set1_epi32(load_i32(xq + 4 * g)));
        acc[t][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[t][g]);
      }
      add_min<K>(blk, xs[b * xstride + t], mins[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    // avx2::hsum: ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), then the minimum's sum.
    const __m512 even =
        _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][4]), _mm512_add_ps(acc[t][2], acc[t][6]));
    const __m512 odd =
        _mm512_add_ps(_mm512_add_ps(acc[t][1], acc[t][5]), _mm512_add_ps(acc[t][3], acc[t][7]));
    const __m512 sum = _mm512_add_ps(even, odd);
    store<K>(y + t * ys, sum, mins[t], store_mask);
  }
}

// The 8 registers of each of a group's nb blocks, in order, for tile() to load.
template <class K>
void unpack_group(const uint8_t* wg, int64_t nb, __m512i* out) {
  for (int64_t b = 0; b < nb; ++b) {
    __m512i q[8];
    K::load(wg + b * K::kBlockBytes, q);
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) _mm512_store_si512(out + 8 * b + g, q[g]);
  }
}

// Tokens in a chunk from which a group's weights are unpacked once (unpack_group): 3 tokens
// ran 5 % faster that way, 6 tokens 11 %.
constexpr int64_t kUnpackTokens = 3;

// tile() with SumOrder::Blocks: a block's 32 products of a (row, token) add up as integers (one
// chain of eight vpdpbusd, exact) before its one f32 multiply-add; each token on its own, so
// results do not depend on NT either. About half the f32 work of the lane order. Q4_1's
// minimum terms are summed in a second pass over the blocks (the same f32 operations in the
// same order), which leaves the registers for 16 tokens.
//
// Each step of the chains is issued for all NT tokens before the next: a step waits ~6 cycles
// for the one before, and vpdpbusd issues on two ports, so 12 or more independent chains in
// flight keep both busy (two chains of four per token, each token's in turn, left them ~25 %
// idle). xq holds the tokens' quants block-major ([b * xstride + t][32]), so every token's
// bytes sit at a fixed offset from one pointer instead of one register per token's row.
template <class K, int NT>
void tile_blocks(const uint8_t* wg, const int8_t* xq, int64_t nb, const float* xd, const float* xs,
                 const int32_t* corr_sum, int64_t xstride, float* y, int64_t ys,
                 __mmask16 store_mask, const Prefetch& pf) {
  __m512 acc[NT];
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = wg + b * K::kBlockBytes;
    prefetch_block<K>(pf, b);
    __m512i q[8];
    K::load(blk, q);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const int8_t* xb = xq + b * xstride * 32;  // [NT][32]: the tile's tokens' quants of block b
    __m512i dot[NT];
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      dot[t] = K::kOffset ? _mm512_set1_epi32(corr_sum[b * xstride + t]) : _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
#pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) {
        dot[t] =
            _mm512_dpbusd_epi32(dot[t], q[g], _mm512_set1_epi32(load_i32(xb + t * 32 + 4 * g)));
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(xd[b * xstride + t]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), scale, acc[t]);
    }
  }
  __m512 mins[NT];
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) mins[t] = _mm512_setzero_ps();
  if constexpr (K::kHasMin) {
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = wg + b * K::kBlockBytes;
#pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) add_min<K>(blk, xs[b * xstride + t], mins[t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) store<K>(y + t * ys, acc[t], mins[t], store_mask);
}

// Tokens per tile_blocks call: each token keeps one accumulator, and a tile reads and unpacks
// the weight block once for all of them (16 rather than 8: a 16-stream int8 decode step
// 7 % faster, each group's weights read once).
constexpr int kBlockTile = 16;

template <class K, int... I>
constexpr auto block_tiles(std::integer_sequence<int, I...>) {
  return std::array{&tile_blocks<K, I + 1>...};
}

template <class K>
void run(const PackedArgs& a, int64_t g0, int64_t g1, int64_t t0, int64_t t1) {
  const int64_t nb = a.k / 32;
  // nb <= kScaleEntries (packed_matmul_supports), so at least one token fits.
  const int64_t chunk = min_i64(64, kScaleEntries / nb);
  alignas(64) float xd[kScaleEntries];
  alignas(64) float xs[K::kHasMin ? kScaleEntries : 1];
  alignas(64) int32_t corr[K::kOffset ? 8 * kScaleEntries : 1];
  alignas(64) int32_t corr_sum[K::kOffset ? kScaleEntries : 1];
  alignas(64) int8_t xq[32 * kScaleEntries];  // block order only
  // Tokens per tile: the lane order's 8 accumulators per token leave registers for 2, the
  // block order's one for kBlockTile.
  const bool blocks = a.order == SumOrder::Blocks;
  const int64_t nt_tile = blocks ? kBlockTile : 2;
  for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
    const int64_t c1 = min_i64(t1, c0 + chunk);
    const int64_t nt = c1 - c0;
    prepare_activations<K>(a.x + c0 * a.xrb, a.xrb, nt, nb, xd, xs, corr, corr_sum,
                           blocks ? xq : nullptr);
    // The lane order's tiles take 2 tokens: with more in the chunk, a group's nibbles are
    // unpacked once for all of them rather than once per tile (16 tokens of Q4_1 at k = 576:
    // 175 -> 150 us on one core).
    const bool unpack = K::kNibbles && !blocks && a.unpacked && nt >= kUnpackTokens;
    const int64_t n_tiles = (nt + nt_tile - 1) / nt_tile;  // per group
    for (int64_t g = g0; g < g1; ++g) {
      const uint8_t* wg = a.w + g * a.group_bytes;
      if (unpack) unpack_group<K>(wg, nb, static_cast<__m512i*>(a.unpacked));
      const int64_t r0 = g * kRows;
      const int64_t rows = min_i64(kRows, a.n_out - r0);
      const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
      for (int64_t t = c0; t < c1; t += nt_tile) {
        const int64_t left = min_i64(nt_tile, c1 - t);
        const int64_t off = t - c0;
        const uint8_t* x = a.x + t * a.xrb;
        float* y = a.y + t * a.ys + r0;
        const float* xdo = xd + off;
        const float* xso = K::kHasMin ? xs + off : xs;
        // Tile i of the group's n fetches the i-th n-th of the next group.
        const int64_t tile_i = off / nt_tile;
        const Prefetch pf{g + 1 < g1 ? wg + a.group_bytes : nullptr, nb * tile_i / n_tiles,
                          nb * (tile_i + 1) / n_tiles};
        if (blocks) {
          const int32_t* cs = K::kOffset ? corr_sum + off : corr_sum;
          // Full tiles and single tokens (decode) by a direct call, which GCC inlines: through
          // the table, a 16-stream int8 decode ran 8 % slower and one stream 2.5 % (medians of
          // 5 and 6 interleaved runs).
          if (left == kBlockTile) {
            tile_blocks<K, kBlockTile>(wg, xq + off * 32, nb, xdo, xso, cs, nt, y, a.ys, mask, pf);
          } else if (left == 1) {
            tile_blocks<K, 1>(wg, xq + off * 32, nb, xdo, xso, cs, nt, y, a.ys, mask, pf);
          } else {
            block_tiles<K>(std::make_integer_sequence<int, kBlockTile>())[left - 1](
                wg, xq + off * 32, nb, xdo, xso, cs, nt, y, a.ys, mask, pf);
          }
          continue;
        }
        const int32_t* co = K::kOffset ? corr + 8 * off : corr;
        const __m512i* uq = unpack ? static_cast<const __m512i*>(a.unpacked) : nullptr;
        if (left == 2) {
          tile<K, 2>(wg, uq, x, a.xrb, nb, xdo, xso, co, nt, y, a.ys, mask, pf);
        } else {
          tile<K, 1>(wg, uq, x, a.xrb, nb, xdo, xso, co, nt, y, a.ys, mask, pf);
        }
      }
    }
  }
}

}  // namespace

void packed_matmul_range(const PackedArgs& a, int64_t g0, int64_t g1, int64_t t0, int64_t t1) {
  switch (a.wtype) {
    case DType::Q4_0:
      return run<Q4_0Kernel>(a, g0, g1, t0, t1);
    case DType::Q4_1:
      return run<Q4_1Kernel>(a, g0, g1, t0, t1);
    case DType::Q8_0:
      return run<Q8_0Kernel>(a, g0, g1, t0, t1);
    default:
      return;
  }
}

}  // namespace autoglm::cpu::avx512
#endif  // __x86_64__
