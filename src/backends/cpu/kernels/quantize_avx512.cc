// Q8_0 / Q8_1 activation quantization, up to 16 blocks of 32 at a time: the blocks' maxima and
// quant sums are reduced together with tree16_x16, so the scalar tail that ends each block in
// the AVX2 version (a horizontal reduction, two divisions, two F16 conversions) becomes one lane
// of a vector (8 rows of 576 to Q8_1: 1.6 -> 1.0 us on one core). Every lane computes what
// quantize_row_activation computes for its block: the same maximum (its order does not matter),
// the same IEEE divisions, products and round-to-nearest-even conversions, the same integer sums
// (exact in f32).
#include "backends/cpu/kernels/quantize_avx512.h"

#if defined(__x86_64__)
#include <type_traits>

#include "backends/cpu/kernels/avx512_math.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers self-initialize their undefined vectors (PR105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace autoglm::cpu::avx512 {
namespace {

struct MaxLanes {
  AUTOGLM_AVX512 __m512 operator()(__m512 a, __m512 b) const { return _mm512_max_ps(a, b); }
};

// Q8_1 blocks also carry s = d * (the sum of the quants).
template <class Block>
constexpr bool kWithSum = std::is_same_v<Block, BlockQ8_1>;

// One block alone: for a few left over, cheaper than a group's reductions.
template <class Block>
AUTOGLM_AVX512 void quantize_one(const float* x, Block& y) {
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  const float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  const float d = max / 127.0f;
  const __m512 id = _mm512_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
  const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y.qs), _mm512_cvtsepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y.qs + 16), _mm512_cvtsepi32_epi8(q1));
  y.d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
  if constexpr (kWithSum<Block>) {
    const auto sum = static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)));
    y.s = static_cast<uint16_t>(_cvtss_sh(sum * d, _MM_FROUND_TO_NEAREST_INT));
  }
}

// n <= 16 blocks: lane b of each reduction is block b (lanes past n reduce zeros, unused).
template <class Block>
AUTOGLM_AVX512 __attribute__((always_inline)) inline void quantize_group(const float* x, Block* y,
                                                                         int n) {
  __m512 amax[16];
  for (int b = 0; b < 16; ++b) {
    amax[b] = _mm512_setzero_ps();
    if (b >= n) continue;
    const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
    amax[b] = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
  }
  const __m512 max = tree16_x16(amax, MaxLanes{});
  const __m512 d = _mm512_div_ps(max, _mm512_set1_ps(127.0f));
  // max != 0 as C compares it (NaN unequal), else 0.
  const __mmask16 nonzero = _mm512_cmp_ps_mask(max, _mm512_setzero_ps(), _CMP_NEQ_UQ);
  const __m512 id = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(127.0f), max);
  __m512 sums[16];
  for (int b = 0; b < 16; ++b) {
    sums[b] = _mm512_setzero_ps();
    if (b >= n) continue;
    const __m512 ib = _mm512_permutexvar_ps(_mm512_set1_epi32(b), id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * b), ib));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * b + 16), ib));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16), _mm512_cvtsepi32_epi8(q1));
    sums[b] = _mm512_cvtepi32_ps(_mm512_add_epi32(q0, q1));
  }
  alignas(32) uint16_t dh[16], sh[16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(dh), _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT));
  if constexpr (kWithSum<Block>) {
    const __m512 s = _mm512_mul_ps(tree16_x16(sums), d);
    _mm256_store_si256(reinterpret_cast<__m256i*>(sh),
                       _mm512_cvtps_ph(s, _MM_FROUND_TO_NEAREST_INT));
  }
  for (int b = 0; b < n; ++b) {
    y[b].d = dh[b];
    if constexpr (kWithSum<Block>) y[b].s = sh[b];
  }
}

// Fewer blocks than this go one by one.
constexpr int64_t kMinGroup = 6;

template <class Block>
AUTOGLM_AVX512 void quantize_row(const float* x, Block* y, int64_t nb) {
  int64_t b = 0;
  for (; nb - b >= 16; b += 16) quantize_group(x + 32 * b, y + b, 16);
  if (nb - b >= kMinGroup) {
    quantize_group(x + 32 * b, y + b, static_cast<int>(nb - b));
    return;
  }
  for (; b < nb; ++b) quantize_one(x + 32 * b, y[b]);
}

}  // namespace

bool quantize_activations(DType act, const float* x, void* out, int64_t n) {
  switch (act) {
    case DType::Q8_0:
      quantize_row(x, static_cast<BlockQ8_0*>(out), n / 32);
      return true;
    case DType::Q8_1:
      quantize_row(x, static_cast<BlockQ8_1*>(out), n / 32);
      return true;
    default:
      return false;
  }
}

}  // namespace autoglm::cpu::avx512
#endif  // __x86_64__
