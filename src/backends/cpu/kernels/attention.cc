#include "backends/cpu/kernels/attention.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/avx512_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/matmul_avx2.h"
#include "backends/cpu/kernels/rope.h"
#include "backends/cpu/kernels/softmax.h"
#include "core/half.h"
#include "core/quant.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

constexpr int64_t kMaxHeadDim = 512;
constexpr int kMaxHeadsPerJob = 4;  // query heads of one GQA group attended together

// n_q query heads of one token that share a kv head: the visible cache rows of that kv head.
struct HeadJob {
  int n_q;              // 1 .. kMaxHeadsPerJob
  const float* q;       // [n_q, head_dim]
  const uint8_t* k;     // this kv head in cache row 0; rows k_row_bytes apart
  const uint8_t* v;     // same for V
  const int32_t* rows;  // [n_kv]: cache row of each visible position
  size_t k_row_bytes, v_row_bytes;
  int64_t n_kv, head_dim;
  float scale;
  // The token is its sequence's only one in this call: llama.cpp then takes its one-row
  // (vec_dot) order instead of the batched (tinyBLAS) one, and so do the 16-lane kernels.
  bool single;
  float* scores;  // [n_q, n_kv] scratch
  float* out;     // [n_q, head_dim]
};

// ---- scalar reference ----

template <bool F16>
float load_scalar(const uint8_t* row, int64_t i) {
  if constexpr (F16) return fp16_to_fp32(reinterpret_cast<const uint16_t*>(row)[i]);
  return reinterpret_cast<const float*>(row)[i];
}

// With an F16 cache the operands meet in F16, as ggml's F16 mat-muls do: q is rounded to F16
// before q·K and the probabilities before p·V. Matching this keeps the engine within
// llama.cpp's own noise instead of adding a second, different rounding pattern.
void round_to_f16_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

template <bool F16>
void head_scalar(const HeadJob& j) {
  const float* q = j.q;
  float q16[kMaxHeadDim];
  if constexpr (F16) {
    round_to_f16_scalar(j.q, q16, j.head_dim);
    q = q16;
  }
  for (int64_t r = 0; r < j.n_kv; ++r) {
    const uint8_t* kr = j.k + j.rows[r] * j.k_row_bytes;
    float dot = 0.0f;
    for (int64_t d = 0; d < j.head_dim; ++d) dot += q[d] * load_scalar<F16>(kr, d);
    j.scores[r] = dot;
  }
  softmax_row(j.scores, j.scores, j.n_kv, j.scale);
  if constexpr (F16) round_to_f16_scalar(j.scores, j.scores, j.n_kv);
  std::fill(j.out, j.out + j.head_dim, 0.0f);
  for (int64_t r = 0; r < j.n_kv; ++r) {
    const uint8_t* vr = j.v + j.rows[r] * j.v_row_bytes;
    for (int64_t d = 0; d < j.head_dim; ++d) j.out[d] += j.scores[r] * load_scalar<F16>(vr, d);
  }
}

#if defined(__x86_64__)
// ---- AVX2 ----

template <bool F16>
AUTOGLM_AVX2 inline __m256 load8(const uint8_t* row, int64_t i) {
  if constexpr (F16) return avx2::load_f16(reinterpret_cast<const uint16_t*>(row) + i);
  return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
}

AUTOGLM_AVX2 void round_to_f16_avx2(const float* x, float* y, int64_t n) {
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

template <bool F16>
AUTOGLM_AVX2 void head_avx2(const HeadJob& jin) {
  HeadJob j = jin;
  float q16[kMaxHeadDim];
  if constexpr (F16) {
    round_to_f16_avx2(jin.q, q16, j.head_dim);
    j.q = q16;
  }
  const int64_t hd = j.head_dim;
  const int64_t hd8 = hd / 8 * 8;
  for (int64_t r = 0; r < j.n_kv; ++r) {
    const uint8_t* kr = j.k + j.rows[r] * j.k_row_bytes;
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    int64_t d = 0;
    for (; d + 16 <= hd; d += 16) {
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(j.q + d), load8<F16>(kr, d), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(j.q + d + 8), load8<F16>(kr, d + 8), acc1);
    }
    if (d < hd8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(j.q + d), load8<F16>(kr, d), acc0);
    float dot = avx2::hsum(_mm256_add_ps(acc0, acc1));
    for (d = hd8; d < hd; ++d) dot += j.q[d] * load_scalar<F16>(kr, d);
    j.scores[r] = dot;
  }
  softmax_row(j.scores, j.scores, j.n_kv, j.scale);
  if constexpr (F16) round_to_f16_avx2(j.scores, j.scores, j.n_kv);
  std::fill(j.out, j.out + hd, 0.0f);
  // Four rows per pass, so out[] is loaded and stored a quarter as often.
  int64_t r = 0;
  for (; r + 4 <= j.n_kv; r += 4) {
    const uint8_t* v0 = j.v + j.rows[r] * j.v_row_bytes;
    const uint8_t* v1 = j.v + j.rows[r + 1] * j.v_row_bytes;
    const uint8_t* v2 = j.v + j.rows[r + 2] * j.v_row_bytes;
    const uint8_t* v3 = j.v + j.rows[r + 3] * j.v_row_bytes;
    const __m256 p0 = _mm256_set1_ps(j.scores[r]), p1 = _mm256_set1_ps(j.scores[r + 1]);
    const __m256 p2 = _mm256_set1_ps(j.scores[r + 2]), p3 = _mm256_set1_ps(j.scores[r + 3]);
    for (int64_t d = 0; d < hd8; d += 8) {
      __m256 o = _mm256_loadu_ps(j.out + d);
      o = _mm256_fmadd_ps(p0, load8<F16>(v0, d), o);
      o = _mm256_fmadd_ps(p1, load8<F16>(v1, d), o);
      o = _mm256_fmadd_ps(p2, load8<F16>(v2, d), o);
      o = _mm256_fmadd_ps(p3, load8<F16>(v3, d), o);
      _mm256_storeu_ps(j.out + d, o);
    }
    for (int64_t d = hd8; d < hd; ++d) {
      j.out[d] +=
          j.scores[r] * load_scalar<F16>(v0, d) + j.scores[r + 1] * load_scalar<F16>(v1, d) +
          j.scores[r + 2] * load_scalar<F16>(v2, d) + j.scores[r + 3] * load_scalar<F16>(v3, d);
    }
  }
  for (; r < j.n_kv; ++r) {
    const uint8_t* vr = j.v + j.rows[r] * j.v_row_bytes;
    const __m256 p = _mm256_set1_ps(j.scores[r]);
    for (int64_t d = 0; d < hd8; d += 8) {
      _mm256_storeu_ps(j.out + d,
                       _mm256_fmadd_ps(p, load8<F16>(vr, d), _mm256_loadu_ps(j.out + d)));
    }
    for (int64_t d = hd8; d < hd; ++d) j.out[d] += j.scores[r] * load_scalar<F16>(vr, d);
  }
}

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
AUTOGLM_AVX2 void probs_f16(const HeadJob& j) {
  for (int g = 0; g < j.n_q; ++g) {
    float* s = j.scores + g * j.n_kv;  // [n_kv]
    softmax_row_ggml(s, s, j.n_kv, j.scale);
    round_to_f16_avx2(s, s, j.n_kv);
  }
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
  round_to_f16_avx2(j.q, q16, NQ * hd);
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
// A q·k accumulator holds the 16 lanes (lo's lanes, then hi's); a p·V accumulator holds one
// lane for 16 output elements. 1.3-1.4x the AVX2 kernel's speed on Sapphire Rapids.
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

template <int NQ, int R>
AUTOGLM_AVX512 inline void qk_block_avx512(const HeadJob& j, const float* q16, int64_t r0,
                                           __m256 (&s8)[NQ][8], int i0) {
  const int64_t hd = j.head_dim;
  const uint16_t* kr[R];
  for (int i = 0; i < R; ++i)
    kr[i] = reinterpret_cast<const uint16_t*>(j.k + j.rows[r0 + i] * j.k_row_bytes);
  __m512 acc[NQ][R];
  for (int g = 0; g < NQ; ++g)
    for (int i = 0; i < R; ++i) acc[g][i] = _mm512_setzero_ps();
  for (int64_t d = 0; d < hd; d += 16) {
    __m512 qd[NQ];
    for (int g = 0; g < NQ; ++g) qd[g] = _mm512_loadu_ps(q16 + g * hd + d);
    for (int i = 0; i < R; ++i) {
      const __m512 k = load16_f16(kr[i] + d);
      for (int g = 0; g < NQ; ++g) acc[g][i] = _mm512_fmadd_ps(qd[g], k, acc[g][i]);
    }
  }
  for (int g = 0; g < NQ; ++g) {
    for (int i = 0; i < R; ++i) {
      const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[g][i]), 1));
      s8[g][i0 + i] = _mm256_add_ps(_mm512_castps512_ps256(acc[g][i]), hi);
    }
  }
}

template <int NQ>
AUTOGLM_AVX512 inline void qk_rows8_avx512(const HeadJob& j, const float* q16, int64_t r0,
                                           int64_t n) {
  constexpr int kR = NQ <= 3 ? 8 : 4;  // NQ * R accumulators, NQ q slices, one K slice
  __m256 s8[NQ][8];
  int i = 0;
  for (; i + kR <= n; i += kR) qk_block_avx512<NQ, kR>(j, q16, r0 + i, s8, i);
  for (; i < n; ++i) qk_block_avx512<NQ, 1>(j, q16, r0 + i, s8, i);
  store_scores8<NQ>(j, s8, r0, n);
}

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

// q·k's 16 lanes before the tree, head_dim % 64 == 0: accumulator c chains elements
// 64 m + 16 c + l, and lane l is (0 + 2) + (1 + 3).
AUTOGLM_AVX512 inline __m512 qk_lanes_single(const float* q, const float* k, int64_t hd) {
  if (hd == 64) {  // one product per accumulator: 2 + 0 and 3 + 1 fuse into FMAs (exact products)
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

// The tree16 sums of 16 rows' lane vectors, lane i = row i: lane l + l+8, then l + l+4,
// l + l+2, 0 + 1, each level one add for several rows at once.
AUTOGLM_AVX512 inline __m512 tree16_x16(const __m512 (&rows)[16]) {
  __m512 t[8];  // t[i]: rows 2i (lanes 0-7) and 2i+1 (8-15), lane l + lane l+8
  for (int i = 0; i < 8; ++i) {
    t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(rows[2 * i], rows[2 * i + 1], 0x44),
                         _mm512_shuffle_f32x4(rows[2 * i], rows[2 * i + 1], 0xee));
  }
  __m512 u[4];  // u[i]: rows 4i .. 4i+3, one per 128-bit quarter, lane l + lane l+4
  for (int i = 0; i < 4; ++i) {
    u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], 0xdd));
  }
  __m512 v[2];  // quarter q of v[i]: rows 8i+q then 8i+4+q, lanes l + l+2 (two each)
  for (int i = 0; i < 2; ++i) {
    v[i] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x44),
                         _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xee));
  }
  // Lane 4 q + e holds row 4 e + q: a 4 x 4 transpose puts row i in lane i.
  const __m512 sums =
      _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], 0x88), _mm512_shuffle_ps(v[0], v[1], 0xdd));
  return _mm512_permutexvar_ps(
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), sums);
}

// scores[g][r] of every row, head_dim % 64 == 0. Each block of 16 K rows is widened to f32
// once for the NQ heads; a block's rows past n_kv repeat its first row: lanes never mix rows,
// and the masked store drops them.
template <int NQ>
AUTOGLM_AVX512 void qk_single_avx512(const HeadJob& j, const float* q16) {
  const int64_t hd = j.head_dim;
  alignas(64) float kf[16 * kMaxHeadDim];  // [16, head_dim]
  for (int64_t r0 = 0; r0 < j.n_kv; r0 += 16) {
    const int64_t n = j.n_kv - r0 < 16 ? j.n_kv - r0 : 16;
    for (int64_t i = 0; i < 16; ++i) {
      const auto* k =
          reinterpret_cast<const uint16_t*>(j.k + j.rows[r0 + (i < n ? i : 0)] * j.k_row_bytes);
      for (int64_t d = 0; d < hd; d += 16) _mm512_store_ps(kf + i * hd + d, load16_f16(k + d));
    }
    const auto mask = static_cast<__mmask16>((1u << n) - 1);
    for (int g = 0; g < NQ; ++g) {
      __m512 rows[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) rows[i] = qk_lanes_single(q16 + g * hd, kf + i * hd, hd);
      _mm512_mask_storeu_ps(j.scores + g * j.n_kv + r0, mask, tree16_x16(rows));
    }
  }
}

template <int NQ>
AUTOGLM_AVX512 void group_avx512_single(const HeadJob& j) {
  const int64_t hd = j.head_dim;
  float q16[NQ * kMaxHeadDim];  // [NQ, head_dim]
  round_to_f16_avx2(j.q, q16, NQ * hd);
  if (hd % 64 == 0) {
    qk_single_avx512<NQ>(j, q16);
  } else {  // the elements past the last 64 are added in double: the AVX2 code has that
    for (int64_t r = 0; r < j.n_kv; r += 8)
      qk_rows8_single<NQ>(j, q16, r, std::min<int64_t>(8, j.n_kv - r));
  }
  probs_f16(j);
  float* leaves = leaf_scratch(j);
  pv_avx512<NQ, 4>(j, leaves);
  reduce_leaves(j, leaves);
}

// ---- AVX-512, F32 or Q8_0 rows: no llama.cpp order to keep, so each product adds straight
// into its accumulator and each K and V row is read once for the group's heads. A Q8_0 element
// d * q is exact in f32, so Q8_0 rows give exactly what an F32 cache holding them dequantized
// gives. ----

// 16 elements at d of a row, as f32.
struct F32Row {
  AUTOGLM_AVX512 static __m512 load16(const uint8_t* row, int64_t d) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + d);
  }
};
struct Q8_0Row {
  AUTOGLM_AVX512 static __m512 load16(const uint8_t* row, int64_t d) {
    const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[d / 32];
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs + d % 32));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)),
                         _mm512_set1_ps(_cvtsh_ss(blk.d)));
  }
};

// scores[g][r] = q[g]·k[r], head_dim % 16 == 0: each block of 16 K rows is widened to f32 once
// for the NQ heads and reduced with tree16_x16; rows past n_kv repeat the block's first (their
// lanes are not stored).
template <class Row, int NQ>
AUTOGLM_AVX512 void qk_rows_avx512(const HeadJob& j) {
  const int64_t hd = j.head_dim;
  alignas(64) float kf[16 * kMaxHeadDim];  // [16, head_dim]
  for (int64_t r0 = 0; r0 < j.n_kv; r0 += 16) {
    const int64_t n = j.n_kv - r0 < 16 ? j.n_kv - r0 : 16;
    for (int64_t i = 0; i < 16; ++i) {
      const uint8_t* k = j.k + j.rows[r0 + (i < n ? i : 0)] * j.k_row_bytes;
      for (int64_t d = 0; d < hd; d += 16) _mm512_store_ps(kf + i * hd + d, Row::load16(k, d));
    }
    const auto mask = static_cast<__mmask16>((1u << n) - 1);
    for (int g = 0; g < NQ; ++g) {
      const float* q = j.q + g * hd;
      __m512 rows[16];
      for (int i = 0; i < 16; ++i) {
        const float* k = kf + i * hd;
        __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(q), _mm512_load_ps(k));
        for (int64_t d = 16; d < hd; d += 16)
          acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), _mm512_load_ps(k + d), acc);
        rows[i] = acc;
      }
      _mm512_mask_storeu_ps(j.scores + g * j.n_kv + r0, mask, tree16_x16(rows));
    }
  }
}

// out[g] = p[g]·V, 64 output elements at a time: NQ x 4 accumulators, each V slice widened once.
template <class Row, int NQ>
AUTOGLM_AVX512 void pv_rows_avx512(const HeadJob& j) {
  const int64_t hd = j.head_dim;
  for (int64_t d0 = 0; d0 < hd; d0 += 64) {
    if (hd - d0 < 64) {  // head_dim % 64 == 16, 32 or 48: the last slice 16 at a time
      for (int64_t d = d0; d < hd; d += 16) {
        __m512 acc[NQ];
        for (auto& x : acc) x = _mm512_setzero_ps();
        for (int64_t r = 0; r < j.n_kv; ++r) {
          const __m512 v = Row::load16(j.v + j.rows[r] * j.v_row_bytes, d);
          for (int g = 0; g < NQ; ++g)
            acc[g] = _mm512_fmadd_ps(_mm512_set1_ps(j.scores[g * j.n_kv + r]), v, acc[g]);
        }
        for (int g = 0; g < NQ; ++g) _mm512_storeu_ps(j.out + g * hd + d, acc[g]);
      }
      break;
    }
    __m512 acc[NQ][4];
    for (auto& a : acc)
      for (auto& x : a) x = _mm512_setzero_ps();
    for (int64_t r = 0; r < j.n_kv; ++r) {
      const uint8_t* row = j.v + j.rows[r] * j.v_row_bytes;
      for (int c = 0; c < 4; ++c) {
        const __m512 v = Row::load16(row, d0 + 16 * c);
        for (int g = 0; g < NQ; ++g)
          acc[g][c] = _mm512_fmadd_ps(_mm512_set1_ps(j.scores[g * j.n_kv + r]), v, acc[g][c]);
      }
    }
    for (int g = 0; g < NQ; ++g)
      for (int c = 0; c < 4; ++c) _mm512_storeu_ps(j.out + g * hd + d0 + 16 * c, acc[g][c]);
  }
}

template <class Row, int NQ>
AUTOGLM_AVX512 void group_avx512_rows(const HeadJob& j) {
  qk_rows_avx512<Row, NQ>(j);
  for (int g = 0; g < NQ; ++g) {
    softmax_row(j.scores + g * j.n_kv, j.scores + g * j.n_kv, j.n_kv, j.scale);
  }
  pv_rows_avx512<Row, NQ>(j);
}

template <int NQ>
AUTOGLM_AVX512 void group_avx512_lanes16(const HeadJob& j) {
  if (j.single) return group_avx512_single<NQ>(j);
  const int64_t hd = j.head_dim;
  float q16[NQ * kMaxHeadDim];  // [NQ, head_dim]
  round_to_f16_avx2(j.q, q16, NQ * hd);
  for (int64_t r = 0; r < j.n_kv; r += 8)
    qk_rows8_avx512<NQ>(j, q16, r, j.n_kv - r < 8 ? j.n_kv - r : 8);
  probs_f16(j);
  float* leaves = leaf_scratch(j);
  pv_avx512<NQ, 1>(j, leaves);
  reduce_leaves(j, leaves);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

using HeadFn = void (*)(const HeadJob&);

// For kernels written for one head (n_q == 1): the job's heads one by one.
template <HeadFn Head>
void each_head(const HeadJob& j) {
  HeadJob one = j;
  one.n_q = 1;
  for (int g = 0; g < j.n_q; ++g) {
    one.q = j.q + g * j.head_dim;
    one.out = j.out + g * j.head_dim;
    Head(one);
  }
}

// fns[n - 1] attends n heads of a group. dequantized: Q8_0 rows reach them dequantized to f32
// (see DequantizedRows) rather than as they are in the cache.
struct HeadFns {
  HeadFn fns[kMaxHeadsPerJob];
  bool dequantized = false;
};

template <HeadFn Head>
constexpr HeadFns one_by_one() {
  return {{each_head<Head>, each_head<Head>, each_head<Head>, each_head<Head>}};
}

#if defined(__x86_64__)
template <class Row>
constexpr HeadFns rows_avx512() {
  return {{group_avx512_rows<Row, 1>, group_avx512_rows<Row, 2>, group_avx512_rows<Row, 3>,
           group_avx512_rows<Row, 4>}};
}
#endif

// Without a kernel of their own, Q8_0 rows take the F32 ones over their dequantized copy.
HeadFns pick_head_fns(DType kv_type, int64_t head_dim) {
  const bool f16 = kv_type == DType::F16;
#if defined(__x86_64__)
  if (has_avx512(active_isa()) && f16 && head_dim % 16 == 0) {
    return {{group_avx512_lanes16<1>, group_avx512_lanes16<2>, group_avx512_lanes16<3>,
             group_avx512_lanes16<4>}};
  }
  if (has_avx512(active_isa()) && kv_type == DType::Q8_0) return rows_avx512<Q8_0Row>();
  if (has_avx512(active_isa()) && kv_type == DType::F32 && head_dim % 16 == 0)
    return rows_avx512<F32Row>();
  if (has_avx2(active_isa()) && f16 && head_dim % 16 == 0) {
    return {{group_avx2_lanes16<1>, group_avx2_lanes16<2>, group_avx2_lanes16<3>,
             group_avx2_lanes16<4>}};
  }
#endif
  HeadFns fns = f16 ? one_by_one<head_scalar<true>>() : one_by_one<head_scalar<false>>();
#if defined(__x86_64__)
  if (has_avx2(active_isa()))
    fns = f16 ? one_by_one<head_avx2<true>>() : one_by_one<head_avx2<false>>();
#endif
  fns.dequantized = kv_type == DType::Q8_0;
  return fns;
}

// The visible Q8_0 rows of one sequence, each kv head's slice dequantized once into f32: every
// query head of the GQA group and every later token of the sequence reuses it. A Q8_0 element
// is d * qs, an 8-bit integer times an F16 scale (at most 19 significant bits), so the f32 copy
// is exact and the result is exactly an F32 cache holding the dequantized rows.
class DequantizedRows {
 public:
  void reset(int64_t n_head_kv, int64_t head_dim) {
    hd_ = head_dim;
    k_.resize(static_cast<size_t>(n_head_kv));
    v_.resize(static_cast<size_t>(n_head_kv));
    done_.assign(static_cast<size_t>(n_head_kv), 0);
  }
  // Rows [0, n_kv) of kv head h; cache rows `rows`, the head's slice at head_off of each.
  void extend(int64_t h, int64_t n_kv, const int32_t* rows, const uint8_t* k, const uint8_t* v,
              const AttentionParams& p, size_t head_off) {
    const auto hs = static_cast<size_t>(h);
    std::vector<float>& kd = k_[hs];  // [n_kv, head_dim]
    std::vector<float>& vd = v_[hs];  // [n_kv, head_dim]
    if (kd.size() < static_cast<size_t>(n_kv * hd_)) {
      kd.resize(static_cast<size_t>(n_kv * hd_));
      vd.resize(static_cast<size_t>(n_kv * hd_));
    }
    for (int64_t r = done_[hs]; r < n_kv; ++r) {
      dequantize_row(DType::Q8_0, k + rows[r] * p.k_row_bytes + head_off, &kd[r * hd_], hd_);
      dequantize_row(DType::Q8_0, v + rows[r] * p.v_row_bytes + head_off, &vd[r * hd_], hd_);
    }
    done_[hs] = std::max(done_[hs], n_kv);
  }
  const uint8_t* k(int64_t h) const { return bytes(k_[static_cast<size_t>(h)]); }
  const uint8_t* v(int64_t h) const { return bytes(v_[static_cast<size_t>(h)]); }

 private:
  static const uint8_t* bytes(const std::vector<float>& x) {
    return reinterpret_cast<const uint8_t*>(x.data());
  }

  int64_t hd_ = 0;
  std::vector<std::vector<float>> k_, v_;  // per kv head
  std::vector<int64_t> done_;              // rows dequantized per kv head
};

// Pairs are (token j / n_head, head j % n_head); token t costs positions[t] + 1 rows per head.
// Returns the pair range [*j0, *j1) of thread ith, balanced by work.
void thread_pairs(const AttentionParams& p, int ith, int nth, int64_t* j0, int64_t* j1) {
  int64_t total = 0;
  for (int64_t t = 0; t < p.n_tok; ++t) total += p.positions[t] + 1;
  const int64_t lo = total * ith / nth, hi = total * (ith + 1) / nth;
  // The pair holding work unit u starts the range of the thread whose share begins at u.
  auto pair_at = [&](int64_t u) {
    int64_t before = 0;
    for (int64_t t = 0; t < p.n_tok; ++t) {
      const int64_t per_head = p.positions[t] + 1;
      if (u < before + per_head * p.n_head)
        return t * p.n_head + (u - before + per_head - 1) / per_head;
      before += per_head * p.n_head;
    }
    return p.n_tok * p.n_head;
  };
  *j0 = pair_at(lo * p.n_head);
  *j1 = pair_at(hi * p.n_head);
}

// Asks for a decode job's K and V rows (its kv head's slice of each) before its kernel reads
// them. A step of many sequences reads their caches from memory, and the kernel's own loads keep
// only a few rows in flight; these requests all are, so the rows arrive at the memory's
// bandwidth (a 16-stream decode step's attention: 3.2 ms without this, 2.2 ms with it). Inline
// assembly because GCC 12 deletes this loop of __builtin_prefetch calls as having no effect.
void prefetch_job_rows(const HeadJob& j, size_t head_bytes) {
#if defined(__x86_64__)
  for (int64_t r = 0; r < j.n_kv; ++r) {
    const uint8_t* k = j.k + j.rows[r] * j.k_row_bytes;
    const uint8_t* v = j.v + j.rows[r] * j.v_row_bytes;
    for (size_t o = 0; o < head_bytes; o += 64) {
      asm volatile("prefetcht0 %0" : : "m"(k[o]));
      asm volatile("prefetcht0 %0" : : "m"(v[o]));
    }
  }
#else
  (void)j, (void)head_bytes;
#endif
}

}  // namespace

void attention(const float* q, const void* k_cache, const void* v_cache, float* out,
               const AttentionParams& p, int ith, int nth) {
  int64_t j0, j1;
  thread_pairs(p, ith, nth, &j0, &j1);
  if (j0 >= j1) return;

  const size_t head_bytes = dtype_row_bytes(p.kv_type, p.head_dim);  // one kv head of a row
  const int64_t group = p.n_head / p.n_head_kv;
  const HeadFns head_fns = pick_head_fns(p.kv_type, p.head_dim);
  const bool dequantized = head_fns.dequantized;  // Q8_0 rows read through an f32 copy

  // Scratch that only grows: scores [kMaxHeadsPerJob, n_kv] and the cache row of each position of
  // one sequence, extended as later tokens of the same sequence see further; for Q8_0 read
  // through a copy (no AVX-512) those rows dequantized, and the row index of each (0, 1, ...)
  // in that dense copy.
  thread_local std::vector<float> scores;
  thread_local std::vector<int32_t> rows, dense_rows, seq_tokens;
  thread_local std::vector<float> q_rotated;  // [n_q, head_dim] of the job, for p.q_rope
  thread_local DequantizedRows deq;
  int32_t rows_seq = -1;
  // Tokens of each sequence in this call.
  seq_tokens.clear();
  int64_t n_seqs = 0;
  for (int64_t t = 0; t < p.n_tok; ++t) {
    const auto sq = static_cast<size_t>(p.tok_seq[t]);
    if (seq_tokens.size() <= sq) seq_tokens.resize(sq + 1, 0);
    if (seq_tokens[sq]++ == 0) ++n_seqs;
  }
  // Prefetching pays when many sequences' caches stream from memory; one sequence's rows are
  // mostly still cached from the last step, and the requests then only cost time (10 % of
  // attention/decode_ctx512).
  const bool prefetch = !dequantized && n_seqs > 1;

  HeadJob job{};
  job.k_row_bytes = p.k_row_bytes;
  job.v_row_bytes = p.v_row_bytes;
  job.head_dim = p.head_dim;
  job.scale = p.scale;
  for (int64_t j = j0; j < j1;) {
    const int64_t t = j / p.n_head;
    const int64_t n_kv = p.positions[t] + 1;
    if (p.tok_seq[t] != rows_seq) {
      rows_seq = p.tok_seq[t];
      rows.clear();
      if (dequantized) deq.reset(p.n_head_kv, p.head_dim);
    }
    const int32_t* table = p.block_tables + rows_seq * p.table_width;
    for (auto pos = static_cast<int64_t>(rows.size()); pos < n_kv; ++pos) {
      rows.push_back(
          static_cast<int32_t>(table[pos / p.block_size] * p.block_size + pos % p.block_size));
    }
    const size_t n_scores = static_cast<size_t>(kMaxHeadsPerJob * n_kv);
    if (scores.size() < n_scores) scores.resize(n_scores);
    const int64_t kvh = (j % p.n_head) / group;
    // This head and the next ones of its group, within the thread's range.
    const auto n_q = static_cast<int>(
        std::min<int64_t>({kMaxHeadsPerJob, (kvh + 1) * group - j % p.n_head, j1 - j}));
    const size_t head_off = static_cast<size_t>(kvh) * head_bytes;
    job.q = q + j * p.head_dim;
    if (p.q_rope) {
      if (q_rotated.size() < static_cast<size_t>(n_q * p.head_dim))
        q_rotated.resize(static_cast<size_t>(n_q * p.head_dim));
      rope(job.q, q_rotated.data(), 1, n_q, p.head_dim, p.positions + t, *p.q_rope, 0, 1);
      job.q = q_rotated.data();
    }
    job.out = out + j * p.head_dim;
    if (dequantized) {
      deq.extend(kvh, n_kv, rows.data(), static_cast<const uint8_t*>(k_cache),
                 static_cast<const uint8_t*>(v_cache), p, head_off);
      for (auto r = static_cast<int32_t>(dense_rows.size()); r < n_kv; ++r) dense_rows.push_back(r);
      job.k = deq.k(kvh);
      job.v = deq.v(kvh);
      job.rows = dense_rows.data();
      job.k_row_bytes = job.v_row_bytes = static_cast<size_t>(p.head_dim) * sizeof(float);
    } else {
      job.k = static_cast<const uint8_t*>(k_cache) + head_off;
      job.v = static_cast<const uint8_t*>(v_cache) + head_off;
      job.rows = rows.data();
    }
    job.scores = scores.data();
    job.single = seq_tokens[static_cast<size_t>(p.tok_seq[t])] == 1;
    job.n_kv = n_kv;
    job.n_q = n_q;
    // A decode token's rows come from memory once; a prefill chunk's tokens share theirs.
    if (job.single && prefetch) prefetch_job_rows(job, head_bytes);
    head_fns.fns[n_q - 1](job);
    j += n_q;
  }
}

}  // namespace autoglm::cpu
