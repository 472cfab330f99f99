// The head kernels for F32, Q8_0 and F16 caches outside llama.cpp's 16-lane order: the scalar
// reference, AVX2 one head at a time, and AVX-512 over F32 or Q8_0 rows.
#include "backends/cpu/kernels/attention_heads.h"

#include <algorithm>

#include "backends/cpu/kernels/attention_qk16.h"

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/avx512_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/softmax.h"
#include "core/half.h"
#include "core/quant.h"

namespace autoglm::cpu::attn {
namespace {

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

template <bool F16>
AUTOGLM_AVX2 void head_avx2(const HeadJob& jin) {
  HeadJob j = jin;
  float q16[kMaxHeadDim];
  if constexpr (F16) {
    avx2::round_to_f16(jin.q, q16, j.head_dim);
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
  if constexpr (F16) avx2::round_to_f16(j.scores, j.scores, j.n_kv);
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

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
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
  qk16_avx512<NQ, Row, BatchedLanes>(j, j.q);
  for (int g = 0; g < NQ; ++g) {
    softmax_row(j.scores + g * j.n_kv, j.scores + g * j.n_kv, j.n_kv, j.scale);
  }
  pv_rows_avx512<Row, NQ>(j);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // __x86_64__

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

}  // namespace

HeadFns pick_head_fns(DType kv_type, int64_t head_dim) {
  const bool f16 = kv_type == DType::F16;
#if defined(__x86_64__)
  if (has_avx512(active_isa()) && f16 && head_dim % 16 == 0) {
    return lanes16_avx512_fns();
  }
  if (has_avx512(active_isa()) && kv_type == DType::Q8_0) return rows_avx512<Q8_0Row>();
  if (has_avx512(active_isa()) && kv_type == DType::F32 && head_dim % 16 == 0)
    return rows_avx512<F32Row>();
  if (has_avx2(active_isa()) && f16 && head_dim % 16 == 0) {
    return lanes16_avx2_fns();
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

}  // namespace autoglm::cpu::attn
