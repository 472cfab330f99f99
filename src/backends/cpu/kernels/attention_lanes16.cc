// F16 attention in llama.cpp's x86 order, AVX2 and AVX-512 (x86 only; see attention_heads.h).
#include <algorithm>
#include <vector>

#include "backends/cpu/kernels/attention_heads.h"
#include "backends/cpu/kernels/attention_qk16.h"
#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/avx512_math.h"
#include "backends/cpu/kernels/softmax.h"
#include "core/half.h"

namespace autoglm::cpu::attn {
namespace {

// ---- F16 cache, head_dim % 16 == 0: llama.cpp's 16-lane order ----
// Both products are 16-lane FMA dot products: q·k lane i sums elements i, i+16, ... and p·V
// lane l sums positions l, l+16, ..., each in increasing order from +0. The 16 lanes are
// reduced in the tree order of a 512-bit horizontal add: lane i + lane i+8 (halves), then
// i + i+4 (quarters), i + i+2, and lane 0 + lane 1. This is how llama.cpp's x86 F16 attention
// rounds, so the two engines stay on the same tokens: however a kernel below groups heads,
// rows or registers, every output element sees exactly these f32 operations in this order.

// The 16-lane sums of 8 rows at once, each row given as s[i] = its halves already added; lane
// i of the result is row i's sum in the tree order (a + b == b + a exactly, so the shuffles
// may pair operands either way round).
AUTOGLM_AVX2 inline __m256 reduce16_x8(const __m256* s) {
  __m256 q[4];  // q[i]: the quarter sums of rows 2i (low 128 bits) and 2i + 1 (high)
  for (int i = 0; i < 4; ++i) {
    q[i] = _mm256_add_ps(_mm256_permute2f128_ps(s[2 * i], s[2 * i + 1], 0x20),
                         _mm256_permute2f128_ps(s[2 * i], s[2 * i + 1], 0x31));
  }
  // p0: pair sums of rows 0, 2 | 1, 3; p1: rows 4, 6 | 5, 7.
  const __m256 p0 =
      _mm256_add_ps(_mm256_shuffle_ps(q[0], q[1], 0x44), _mm256_shuffle_ps(q[0], q[1], 0xee));
  const __m256 p1 =
      _mm256_add_ps(_mm256_shuffle_ps(q[2], q[3], 0x44), _mm256_shuffle_ps(q[2], q[3], 0xee));
  // Rows 0, 2, 4, 6 | 1, 3, 5, 7.
  const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(p0, p1, 0x88), _mm256_shuffle_ps(p0, p1, 0xdd));
  return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// scores[g][r0 + i] = the 16-lane sum s8[g][i] (lo + hi halves) for the n <= 8 rows of a batch.
template <int NQ>
AUTOGLM_AVX2 inline void store_scores8(const HeadJob& j, __m256 (&s8)[NQ][8], int64_t r0,
                                       int64_t n) {
  for (int g = 0; g < NQ; ++g) {
    for (int64_t i = n; i < 8; ++i) s8[g][i] = _mm256_setzero_ps();
    const __m256 sums = reduce16_x8(s8[g]);
    float* dst = j.scores + g * j.n_kv + r0;
    if (n == 8) {
      _mm256_storeu_ps(dst, sums);
    } else {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, sums);
      for (int64_t i = 0; i < n; ++i) dst[i] = tmp[i];
    }
  }
}

// s8[g][i0 + i] for rows r0 + i, i < R: q16[g] · k row as a 16-lane FMA dot product (lane i
// takes elements i, i+16, ...), its two 8-lane halves added. Each K row is loaded once for the
// NQ heads, and R rows run side by side for instruction-level parallelism.
template <int NQ, int R>
AUTOGLM_AVX2 inline void qk_block(const HeadJob& j, const float* q16, int64_t r0,
                                  __m256 (&s8)[NQ][8], int i0) {
  const int64_t hd = j.head_dim;
  const uint16_t* kr[R];
  for (int i = 0; i < R; ++i)
    kr[i] = reinterpret_cast<const uint16_t*>(j.k + j.rows[r0 + i] * j.k_row_bytes);
  __m256 lo[NQ][R], hi[NQ][R];
  for (int g = 0; g < NQ; ++g)
    for (int i = 0; i < R; ++i) lo[g][i] = hi[g][i] = _mm256_setzero_ps();
  for (int64_t d = 0; d < hd; d += 16) {
    for (int i = 0; i < R; ++i) {
      const __m256 k0 = avx2::load_f16(kr[i] + d), k1 = avx2::load_f16(kr[i] + d + 8);
      for (int g = 0; g < NQ; ++g) {
        lo[g][i] = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + g * hd + d), k0, lo[g][i]);
        hi[g][i] = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + g * hd + d + 8), k1, hi[g][i]);
      }
    }
  }
  for (int g = 0; g < NQ; ++g)
    for (int i = 0; i < R; ++i) s8[g][i0 + i] = _mm256_add_ps(lo[g][i], hi[g][i]);
}

// scores[g][r] for rows [r0, r0 + n), n <= 8.
template <int NQ>
AUTOGLM_AVX2 inline void qk_rows8(const HeadJob& j, const float* q16, int64_t r0, int64_t n) {
  constexpr int kR = NQ == 1 ? 4 : NQ <= 3 ? 2 : 1;  // 2 * NQ * R accumulators, 2 K halves
  __m256 s8[NQ][8];
  int i = 0;
  for (; i + kR <= n; i += kR) qk_block<NQ, kR>(j, q16, r0 + i, s8, i);
  for (; i < n; ++i) qk_block<NQ, 1>(j, q16, r0 + i, s8, i);
  store_scores8<NQ>(j, s8, r0, n);
}

// p·V leaves: leaf l of the 16-lane tree sums positions l, l + 16, l + 32, ... The batched
// order is one FMA chain per leaf. A single token's one-row order keeps four accumulators,
// accumulator c taking positions 16 c + l + 64 m, and adds them (0 + 2) + (1 + 3) into the
// leaf; only the 16 leaves reach memory.
// leaves[g][l][d0, d0 + 8C): leaf l's p·V sum of head g, with A accumulators per leaf, the
// leaf's V rows read once for the NQ heads.
template <int NQ, int A, int C>
AUTOGLM_AVX2 inline void pv_slice(const HeadJob& j, int64_t d0, float* leaves) {
  const int64_t hd = j.head_dim;
  for (int64_t l = 0; l < 16; ++l) {
    __m256 acc[A][NQ][C];
    for (auto& a : acc)
      for (auto& h : a)
        for (auto& x : h) x = _mm256_setzero_ps();
    for (int64_t base = l; base < j.n_kv; base += 16 * A) {
      for (int a = 0; a < A && base + 16 * a < j.n_kv; ++a) {
        const int64_t r = base + 16 * a;
        const auto* vr = reinterpret_cast<const uint16_t*>(j.v + j.rows[r] * j.v_row_bytes) + d0;
        __m256 p[NQ];
        for (int g = 0; g < NQ; ++g) p[g] = _mm256_broadcast_ss(j.scores + g * j.n_kv + r);
        for (int c = 0; c < C; ++c) {
          const __m256 v = avx2::load_f16(vr + 8 * c);
          for (int g = 0; g < NQ; ++g) acc[a][g][c] = _mm256_fmadd_ps(p[g], v, acc[a][g][c]);
        }
      }
    }
    for (int g = 0; g < NQ; ++g) {
      for (int c = 0; c < C; ++c) {
        __m256 leaf = acc[0][g][c];
        if constexpr (A == 4) {
          leaf = _mm256_add_ps(_mm256_add_ps(acc[0][g][c], acc[2][g][c]),
                               _mm256_add_ps(acc[1][g][c], acc[3][g][c]));
        }
        _mm256_storeu_ps(leaves + (g * 16 + l) * hd + d0 + 8 * c, leaf);
      }
    }
  }
}

// The scores of the job's n_q heads become probabilities rounded to F16. scores: [n_q, n_kv]
void probs_f16(const HeadJob& j) {
  softmax_rows_ggml_f16(j.scores, j.n_q, j.n_kv, j.n_kv, j.scale);
}

// Scratch for the p·V leaves: [n_q, 16, head_dim].
float* leaf_scratch(const HeadJob& j) {
  thread_local std::vector<float> buf;
  const auto n = static_cast<size_t>(j.n_q * 16 * j.head_dim);
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// out[g][d] = the sum of the 16 leaves[g][.][d] in the tree order.
AUTOGLM_AVX2 void reduce_leaves(const HeadJob& j, const float* leaves) {
  const int64_t hd = j.head_dim;
  for (int g = 0; g < j.n_q; ++g) {
    const float* lg = leaves + g * 16 * hd;  // [16, head_dim]
    for (int64_t d = 0; d < hd; d += 8) {
      const float* at = lg + d;
      __m256 s8[8];
      for (int l = 0; l < 8; ++l)
        s8[l] = _mm256_add_ps(_mm256_loadu_ps(at + l * hd), _mm256_loadu_ps(at + (l + 8) * hd));
      __m256 s4[4];
      for (int l = 0; l < 4; ++l) s4[l] = _mm256_add_ps(s8[l], s8[l + 4]);
      const __m256 s2a = _mm256_add_ps(s4[0], s4[2]);
      const __m256 s2b = _mm256_add_ps(s4[1], s4[3]);
      _mm256_storeu_ps(j.out + g * hd + d, _mm256_add_ps(s2a, s2b));
    }
  }
}

// ---- A single token: llama.cpp's one-row F16 dot product (ggml_vec_dot_f16) ----
// Four 16-lane accumulators take elements 64 m + 16 i + l (i = 0..3); they are added as
// (0 + 2) + (1 + 3) before the tree of 16 lanes; elements past the last full 64 are added one
// by one in double. q·k runs over head_dim, p·V over positions (llama.cpp pads those to a
// multiple of 256 with zero probabilities, so positions have no leftover).

// The 16-lane sum of one row from its four accumulators, a[2 c + h] = accumulator c, half h
// (lanes 8 h .. 8 h + 7), before the tree: (0 + 2) + (1 + 3), halves added.
AUTOGLM_AVX2 inline __m256 fold_accumulators(const __m256 (&a)[8]) {
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));
  return _mm256_add_ps(lo, hi);
}

// scores[g][r] for rows [r0, r0 + n), n <= 8, one head at a time (8 accumulators).
template <int NQ>
AUTOGLM_AVX2 inline void qk_rows8_single(const HeadJob& j, const float* q16, int64_t r0,
                                         int64_t n) {
  const int64_t hd = j.head_dim, np = hd / 64 * 64;
  __m256 s8[NQ][8];
  for (int64_t i = 0; i < n; ++i) {
    const auto* kr = reinterpret_cast<const uint16_t*>(j.k + j.rows[r0 + i] * j.k_row_bytes);
    __m256 a[8];
    if (hd == 64) {  // one step: each product is its accumulator; the K row converts once
      // Two F16 values multiply exactly in f32, so accumulators 0 + 2 (and 1 + 3), each one
      // product, are one FMA onto the other's product: the same sum, half the instructions.
      __m256 k8[8];
      for (int c = 0; c < 8; ++c) k8[c] = avx2::load_f16(kr + 8 * c);
      for (int g = 0; g < NQ; ++g) {
        const float* qg = q16 + g * hd;
        __m256 h[2];  // half h: ((0 + 2) + (1 + 3)) of lanes 8 h .. 8 h + 7
        for (int x = 0; x < 2; ++x) {
          const __m256 s02 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 32 + 8 * x), k8[4 + x],
                                             _mm256_mul_ps(_mm256_loadu_ps(qg + 8 * x), k8[x]));
          const __m256 s13 =
              _mm256_fmadd_ps(_mm256_loadu_ps(qg + 48 + 8 * x), k8[6 + x],
                              _mm256_mul_ps(_mm256_loadu_ps(qg + 16 + 8 * x), k8[2 + x]));
          h[x] = _mm256_add_ps(s02, s13);
        }
        s8[g][i] = _mm256_add_ps(h[0], h[1]);
      }
      continue;
    }
    for (int g = 0; g < NQ; ++g) {
      for (auto& x : a) x = _mm256_setzero_ps();
      for (int64_t d = 0; d < np; d += 64) {
        for (int c = 0; c < 8; ++c) {
          a[c] = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + g * hd + d + 8 * c),
                                 avx2::load_f16(kr + d + 8 * c), a[c]);
        }
      }
      s8[g][i] = fold_accumulators(a);
    }
  }
  store_scores8<NQ>(j, s8, r0, n);
  if (np == hd) return;
  for (int64_t i = 0; i < n; ++i) {
    const auto* kr = reinterpret_cast<const uint16_t*>(j.k + j.rows[r0 + i] * j.k_row_bytes);
    for (int g = 0; g < NQ; ++g) {
      float* s = j.scores + g * j.n_kv + r0 + i;
      double sum = *s;
      for (int64_t d = np; d < hd; ++d) sum += q16[g * hd + d] * fp16_to_fp32(kr[d]);
      *s = static_cast<float>(sum);
    }
  }
}

// Registers per slice of the p·V loops: A * NQ * C accumulators within `budget`, C <= cap.
constexpr int pv_width(int a, int nq, int budget, int cap) {
  const int c = budget / (a * nq) < cap ? budget / (a * nq) : cap;
  return c >= 8 ? 8 : c >= 4 ? 4 : c >= 2 ? 2 : 1;
}

// All of p·V in slices as wide as the 16 registers allow: A * NQ * C accumulators, the V slice
// and NQ p's, at most 64 elements wide.
template <int NQ, int A>
AUTOGLM_AVX2 void pv_avx2(const HeadJob& j, float* leaves) {
  constexpr int kC = pv_width(A, NQ, 12, 8);
  int64_t d0 = 0;
  for (; d0 + 8 * kC <= j.head_dim; d0 += 8 * kC) pv_slice<NQ, A, kC>(j, d0, leaves);
  for (; d0 < j.head_dim; d0 += 8) pv_slice<NQ, A, 1>(j, d0, leaves);
}

// NQ query heads of one GQA group: each K and V row is read once for all of them.
template <int NQ>
AUTOGLM_AVX2 void group_avx2_lanes16(const HeadJob& j) {
  const int64_t hd = j.head_dim;
  float q16[NQ * kMaxHeadDim];  // [NQ, head_dim]
  avx2::round_to_f16(j.q, q16, NQ * hd);
  for (int64_t r = 0; r < j.n_kv; r += 8) {
    const int64_t n = std::min<int64_t>(8, j.n_kv - r);
    if (j.single) {
      qk_rows8_single<NQ>(j, q16, r, n);
    } else {
      qk_rows8<NQ>(j, q16, r, n);
    }
  }
  probs_f16(j);
  float* leaves = leaf_scratch(j);
  if (j.single) {
    pv_avx2<NQ, 4>(j, leaves);
  } else {
    pv_avx2<NQ, 1>(j, leaves);
  }
  reduce_leaves(j, leaves);
}

// ---- AVX-512: the same operations, 16 lanes to a register ----
// A q·k accumulator holds a row's 16 lanes, and 16 rows are reduced at once (qk16_avx512); a
// p·V accumulator holds one lane for 16 output elements. 1.3-1.4x the AVX2 kernel's speed on
// Sapphire Rapids.
// Per-function target attributes rather than a file compiled with AVX-512 flags (as the
// matmuls do), so these share the helpers above without an inline function of the AVX2 code
// being emitted with AVX-512 instructions.

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
using avx512::load16_f16;

// pv_slice with 16 elements to a register.
template <int NQ, int A, int C>
AUTOGLM_AVX512 inline void pv_slice_avx512(const HeadJob& j, int64_t d0, float* leaves) {
  const int64_t hd = j.head_dim;
  for (int64_t l = 0; l < 16; ++l) {
    __m512 acc[A][NQ][C];
    for (auto& a : acc)
      for (auto& h : a)
        for (auto& x : h) x = _mm512_setzero_ps();
    for (int64_t base = l; base < j.n_kv; base += 16 * A) {
      for (int a = 0; a < A && base + 16 * a < j.n_kv; ++a) {
        const int64_t r = base + 16 * a;
        const auto* vr = reinterpret_cast<const uint16_t*>(j.v + j.rows[r] * j.v_row_bytes) + d0;
        __m512 p[NQ];
        for (int g = 0; g < NQ; ++g) p[g] = _mm512_set1_ps(j.scores[g * j.n_kv + r]);
        for (int c = 0; c < C; ++c) {
          const __m512 v = load16_f16(vr + 16 * c);
          for (int g = 0; g < NQ; ++g) acc[a][g][c] = _mm512_fmadd_ps(p[g], v, acc[a][g][c]);
        }
      }
    }
    for (int g = 0; g < NQ; ++g) {
      for (int c = 0; c < C; ++c) {
        __m512 leaf = acc[0][g][c];
        if constexpr (A == 4) {
          leaf = _mm512_add_ps(_mm512_add_ps(acc[0][g][c], acc[2][g][c]),
                               _mm512_add_ps(acc[1][g][c], acc[3][g][c]));
        }
        _mm512_storeu_ps(leaves + (g * 16 + l) * hd + d0 + 16 * c, leaf);
      }
    }
  }
}

// pv_avx2 with the 32 registers of AVX-512.
template <int NQ, int A>
AUTOGLM_AVX512 void pv_avx512(const HeadJob& j, float* leaves) {
  constexpr int kC = pv_width(A, NQ, 24, 4);
  int64_t d0 = 0;
  for (; d0 + 16 * kC <= j.head_dim; d0 += 16 * kC) pv_slice_avx512<NQ, A, kC>(j, d0, leaves);
  for (; d0 < j.head_dim; d0 += 16) pv_slice_avx512<NQ, A, 1>(j, d0, leaves);
}

// ---- AVX-512, a single token (decode): the one-row order, reorganized for short rows ----
// Every product here is exact (two F16 values), so only the additions round, and they are the
// one-row order's: the code below regroups which instruction performs each addition, never
// its operands.

// The cache's F16 rows, 16 elements at d widened to f32.
struct F16Row {
  AUTOGLM_AVX512 static __m512 load16(const uint8_t* row, int64_t d) {
    return load16_f16(reinterpret_cast<const uint16_t*>(row) + d);
  }
};

// A row's 16 lanes in the one-row order, head_dim % 64 == 0: accumulator c chains elements
// 64 m + 16 c + l, and lane l is (0 + 2) + (1 + 3).
struct OneRowLanes {
  AUTOGLM_AVX512 static __m512 row(const float* q, const float* k, int64_t hd) {
    if (hd == 64) {  // one product per accumulator: 2 + 0 and 3 + 1 fuse into FMAs (exact)
      const __m512 s02 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 32), _mm512_loadu_ps(k + 32),
                                         _mm512_mul_ps(_mm512_loadu_ps(q), _mm512_loadu_ps(k)));
      const __m512 s13 =
          _mm512_fmadd_ps(_mm512_loadu_ps(q + 48), _mm512_loadu_ps(k + 48),
                          _mm512_mul_ps(_mm512_loadu_ps(q + 16), _mm512_loadu_ps(k + 16)));
      return _mm512_add_ps(s02, s13);
    }
    __m512 a[4];
    for (int c = 0; c < 4; ++c)
      a[c] = _mm512_mul_ps(_mm512_loadu_ps(q + 16 * c), _mm512_loadu_ps(k + 16 * c));
    for (int64_t m = 64; m < hd; m += 64) {
      for (int c = 0; c < 4; ++c)
        a[c] =
            _mm512_fmadd_ps(_mm512_loadu_ps(q + m + 16 * c), _mm512_loadu_ps(k + m + 16 * c), a[c]);
    }
    return _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3]));
  }
};

// qk16_avx512 over the F16 rows in the given lane order, head_dim 64 compiled apart.
template <int NQ, class Lanes>
AUTOGLM_AVX512 void qk16_f16(const HeadJob& j, const float* q16) {
  if (j.head_dim == 64) return qk16_avx512<NQ, F16Row, Lanes, 64>(j, q16);
  qk16_avx512<NQ, F16Row, Lanes>(j, q16);
}

template <int NQ>
AUTOGLM_AVX512 void group_avx512_single(const HeadJob& j) {
  const int64_t hd = j.head_dim;
  float q16[NQ * kMaxHeadDim];  // [NQ, head_dim]
  avx2::round_to_f16(j.q, q16, NQ * hd);
  if (hd % 64 == 0) {
    qk16_f16<NQ, OneRowLanes>(j, q16);
  } else {  // the elements past the last 64 are added in double: the AVX2 code has that
    for (int64_t r = 0; r < j.n_kv; r += 8)
      qk_rows8_single<NQ>(j, q16, r, std::min<int64_t>(8, j.n_kv - r));
  }
  probs_f16(j);
  float* leaves = leaf_scratch(j);
  pv_avx512<NQ, 4>(j, leaves);
  reduce_leaves(j, leaves);
}

template <int NQ>
AUTOGLM_AVX512 void group_avx512_lanes16(const HeadJob& j) {
  if (j.single) return group_avx512_single<NQ>(j);
  const int64_t hd = j.head_dim;
  float q16[NQ * kMaxHeadDim];  // [NQ, head_dim]
  avx2::round_to_f16(j.q, q16, NQ * hd);
  qk16_f16<NQ, BatchedLanes>(j, q16);
  probs_f16(j);
  float* leaves = leaf_scratch(j);
  pv_avx512<NQ, 1>(j, leaves);
  reduce_leaves(j, leaves);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

HeadFns lanes16_avx2_fns() {
  return {
      {group_avx2_lanes16<1>, group_avx2_lanes16<2>, group_avx2_lanes16<3>, group_avx2_lanes16<4>}};
}

HeadFns lanes16_avx512_fns() {
  return {{group_avx512_lanes16<1>, group_avx512_lanes16<2>, group_avx512_lanes16<3>,
           group_avx512_lanes16<4>}};
}

}  // namespace autoglm::cpu::attn
