#include "backends/cpu/kernels/attention.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/kernels/avx2_math.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/softmax.h"
#include "core/half.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

constexpr int64_t kMaxHeadDim = 512;

// One (token, head) pair: the visible cache rows of one kv head.
struct HeadJob {
  const float* q;       // [head_dim]
  const uint8_t* k;     // this kv head in cache row 0; rows k_row_bytes apart
  const uint8_t* v;     // same for V
  const int32_t* rows;  // [n_kv]: cache row of each visible position
  size_t k_row_bytes, v_row_bytes;
  int64_t n_kv, head_dim;
  float scale;
  float* scores;  // [n_kv] scratch
  float* out;     // [head_dim]
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
  round_to_f16_scalar(x + i, y + i, n - i);
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

// Sum of 16 lanes held as two 8-lane halves, in the tree order of a 512-bit horizontal add
// (halves, then quarters, then pairs).
AUTOGLM_AVX2 inline float reduce16(__m256 lo, __m256 hi) {
  const __m256 s8 = _mm256_add_ps(lo, hi);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// F16 cache with head_dim % 16 == 0: both products are 16-lane FMA dot products (lane i takes
// elements i, i+16, ...) reduced as above, the order llama.cpp's x86 F16 attention uses, so
// the two engines round alike and stay on the same tokens.
AUTOGLM_AVX2 void head_avx2_lanes16(const HeadJob& jin) {
  float q16[kMaxHeadDim];
  round_to_f16_avx2(jin.q, q16, jin.head_dim);
  const int64_t hd = jin.head_dim;
  for (int64_t r = 0; r < jin.n_kv; ++r) {
    const auto* kr = reinterpret_cast<const uint16_t*>(jin.k + jin.rows[r] * jin.k_row_bytes);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 16) {
      lo = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + d), avx2::load_f16(kr + d), lo);
      hi = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + d + 8), avx2::load_f16(kr + d + 8), hi);
    }
    jin.scores[r] = reduce16(lo, hi);
  }
  softmax_row(jin.scores, jin.scores, jin.n_kv, jin.scale);
  round_to_f16_avx2(jin.scores, jin.scores, jin.n_kv);
  // lanes[l][d]: the partial sum of lane l (positions l, l+16, ...) for output element d.
  thread_local std::vector<float> lane_buf;
  if (lane_buf.size() < static_cast<size_t>(16 * hd)) lane_buf.resize(static_cast<size_t>(16 * hd));
  float* lanes = lane_buf.data();
  std::fill(lanes, lanes + 16 * hd, 0.0f);
  for (int64_t r = 0; r < jin.n_kv; ++r) {
    const auto* vr = reinterpret_cast<const uint16_t*>(jin.v + jin.rows[r] * jin.v_row_bytes);
    float* acc = lanes + (r % 16) * hd;
    const __m256 pr = _mm256_set1_ps(jin.scores[r]);
    for (int64_t d = 0; d < hd; d += 8) {
      _mm256_storeu_ps(acc + d,
                       _mm256_fmadd_ps(pr, avx2::load_f16(vr + d), _mm256_loadu_ps(acc + d)));
    }
  }
  for (int64_t d = 0; d < hd; d += 8) {
    const float* at = lanes + d;
    __m256 s8[8];
    for (int l = 0; l < 8; ++l) {
      s8[l] = _mm256_add_ps(_mm256_loadu_ps(at + l * hd), _mm256_loadu_ps(at + (l + 8) * hd));
    }
    __m256 s4[4];
    for (int l = 0; l < 4; ++l) s4[l] = _mm256_add_ps(s8[l], s8[l + 4]);
    const __m256 s2a = _mm256_add_ps(s4[0], s4[2]);
    const __m256 s2b = _mm256_add_ps(s4[1], s4[3]);
    _mm256_storeu_ps(jin.out + d, _mm256_add_ps(s2a, s2b));
  }
}

AUTOGLM_AVX2 void kv_store_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) avx2::store_f16(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = static_cast<uint16_t>(_cvtss_sh(src[i], 0));
}
#endif

using HeadFn = void (*)(const HeadJob&);

HeadFn pick_head_fn(bool f16, int64_t head_dim) {
#if defined(__x86_64__)
  if (has_avx2(active_isa()) && f16 && head_dim % 16 == 0) return head_avx2_lanes16;
  if (has_avx2(active_isa())) return f16 ? head_avx2<true> : head_avx2<false>;
#endif
  return f16 ? head_scalar<true> : head_scalar<false>;
}

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

}  // namespace

void kv_store(const float* src, const int32_t* slots, int64_t n_tok, int64_t row_elems,
              DType cache_type, void* cache, size_t cache_row_bytes, int ith, int nth) {
  int64_t r0, r1;
  ThreadPool::split(n_tok, ith, nth, &r0, &r1);
  for (int64_t r = r0; r < r1; ++r) {
    const float* s = src + r * row_elems;  // [row_elems]
    void* d = static_cast<uint8_t*>(cache) + static_cast<size_t>(slots[r]) * cache_row_bytes;
    if (cache_type == DType::F32) {
      std::memcpy(d, s, static_cast<size_t>(row_elems) * sizeof(float));
      continue;
    }
    auto* h = static_cast<uint16_t*>(d);
#if defined(__x86_64__)
    if (has_avx2(active_isa())) {
      kv_store_f16_avx2(s, h, row_elems);
      continue;
    }
#endif
    for (int64_t i = 0; i < row_elems; ++i) h[i] = fp32_to_fp16(s[i]);
  }
}

void attention(const float* q, const void* k_cache, const void* v_cache, float* out,
               const AttentionParams& p, int ith, int nth) {
  int64_t j0, j1;
  thread_pairs(p, ith, nth, &j0, &j1);
  if (j0 >= j1) return;

  const bool f16 = p.kv_type == DType::F16;
  const size_t head_bytes = static_cast<size_t>(p.head_dim) * (f16 ? 2 : 4);
  const int64_t group = p.n_head / p.n_head_kv;
  const HeadFn head_fn = pick_head_fn(f16, p.head_dim);

  // Scratch that only grows: scores [n_kv] and the cache row of each position of one sequence,
  // extended as later tokens of the same sequence see further.
  thread_local std::vector<float> scores;
  thread_local std::vector<int32_t> rows;
  int32_t rows_seq = -1;

  HeadJob job{};
  job.k_row_bytes = p.k_row_bytes;
  job.v_row_bytes = p.v_row_bytes;
  job.head_dim = p.head_dim;
  job.scale = p.scale;
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t t = j / p.n_head;
    const int64_t n_kv = p.positions[t] + 1;
    if (p.tok_seq[t] != rows_seq) {
      rows_seq = p.tok_seq[t];
      rows.clear();
    }
    const int32_t* table = p.block_tables + rows_seq * p.table_width;
    for (auto pos = static_cast<int64_t>(rows.size()); pos < n_kv; ++pos) {
      rows.push_back(
          static_cast<int32_t>(table[pos / p.block_size] * p.block_size + pos % p.block_size));
    }
    if (scores.size() < static_cast<size_t>(n_kv)) scores.resize(static_cast<size_t>(n_kv));
    const size_t head_off = static_cast<size_t>((j % p.n_head) / group) * head_bytes;
    job.q = q + j * p.head_dim;
    job.out = out + j * p.head_dim;
    job.k = static_cast<const uint8_t*>(k_cache) + head_off;
    job.v = static_cast<const uint8_t*>(v_cache) + head_off;
    job.rows = rows.data();
    job.scores = scores.data();
    job.n_kv = n_kv;
    head_fn(job);
  }
}

}  // namespace autoglm::cpu
