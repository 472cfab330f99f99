#include "backends/cpu/kernels/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/kernels/isa.h"
#include "core/thread_pool.h"

namespace autoglm::cpu {
namespace {

// cos/sin of each pair's angle for one position. The angle is built by repeated multiplication
// with base^(-2/n_rot), exactly as ggml's rope cache, so positions far out round the same way.
void angle_cache(int32_t pos, const RopeParams& p, float* cos_out, float* sin_out) {
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors != nullptr ? p.freq_factors[i] : 1.0f;
    const float angle = p.freq_scale * (theta / ff);
    cos_out[i] = std::cos(angle);
    sin_out[i] = std::sin(angle);
    theta *= theta_scale;
  }
}

// The angles of recent positions, per thread. Every layer rotates the same few positions (a
// decode step's tokens), and the fused attention rotates q once per job (rope/1x9x64 took
// 0.33 us recomputing them, 0.14 us with this).
class AngleCache {
 public:
  // cos[n_rot/2] followed by sin[n_rot/2] of position pos under p.
  const float* get(int32_t pos, const RopeParams& p) {
    Entry& e = entries_[static_cast<uint32_t>(pos) % kEntries];
    if (!e.holds(pos, p)) {
      const auto half = static_cast<size_t>(p.n_rot / 2);
      e.pos = pos;
      e.params = p;
      e.factors.clear();
      if (p.freq_factors) e.factors.assign(p.freq_factors, p.freq_factors + half);
      e.angles.resize(2 * half);
      angle_cache(pos, p, e.angles.data(), e.angles.data() + half);
    }
    return e.angles.data();
  }

 private:
  static constexpr uint32_t kEntries = 64;
  struct Entry {
    int32_t pos = -1;
    RopeParams params{};
    std::vector<float> factors;  // a copy: the pointer alone could outlive its weights
    std::vector<float> angles;   // [2, n_rot/2]

    bool holds(int32_t at, const RopeParams& p) const {
      if (pos != at || params.n_rot != p.n_rot || params.freq_base != p.freq_base ||
          params.freq_scale != p.freq_scale ||
          (params.freq_factors == nullptr) != (p.freq_factors == nullptr))
        return false;
      return p.freq_factors == nullptr ||
             std::equal(factors.begin(), factors.end(), p.freq_factors);
    }
  };
  Entry entries_[kEntries];
};

// Rotates one head: (x0, x1) → (x0·c − x1·s, x0·s + x1·c), pairs (2i, 2i+1) (normal) or
// (i, i + n_rot/2) (NeoX). Each output fuses the product with x0 and rounds the one with x1
// first, the way llama.cpp's compiled RoPE evaluates it (FMA contraction; checked bit for bit
// against its dumped q and k), so q and k round as llama.cpp's do.
template <bool kNeox>
inline void rotate_head(const float* xh, float* yh, int half, const float* cs, const float* sn) {
  const int64_t stride = kNeox ? 1 : 2;
  const int64_t offset = kNeox ? half : 1;
  for (int i = 0; i < half; ++i) {
    const int64_t a = i * stride;
    const float x0 = xh[a];
    const float x1 = xh[a + offset];
    yh[a] = std::fma(x0, cs[i], -(x1 * sn[i]));
    yh[a + offset] = std::fma(x0, sn[i], x1 * cs[i]);
  }
}

using RotateFn = void (*)(const float*, float*, int, const float*, const float*);

#if defined(__x86_64__)
// The same code with FMA instructions instead of libm's software fma.
AUTOGLM_AVX2 void rotate_normal_fma(const float* xh, float* yh, int half, const float* cs,
                                    const float* sn) {
  rotate_head<false>(xh, yh, half, cs, sn);
}
AUTOGLM_AVX2 void rotate_neox_fma(const float* xh, float* yh, int half, const float* cs,
                                  const float* sn) {
  rotate_head<true>(xh, yh, half, cs, sn);
}
#endif

RotateFn pick_rotate(bool neox) {
#if defined(__x86_64__)
  if (has_avx2(active_isa())) return neox ? rotate_neox_fma : rotate_normal_fma;
#endif
  return neox ? rotate_head<true> : rotate_head<false>;
}

}  // namespace

void rope(const float* x, float* y, int64_t n_tok, int64_t n_head, int64_t head_dim,
          const int32_t* pos, const RopeParams& p, int ith, int nth) {
  int64_t j0, j1;
  ThreadPool::split(n_tok * n_head, ith, nth, &j0, &j1);
  const int half = p.n_rot / 2;
  thread_local AngleCache angles;
  const float* cs = nullptr;  // [half] cos, then [half] sin
  int64_t cached_tok = -1;
  const RotateFn rotate = pick_rotate(p.neox);
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t t = j / n_head;
    if (t != cached_tok) {
      cs = angles.get(pos[t], p);
      cached_tok = t;
    }
    const float* sn = cs + half;
    const float* xh = x + j * head_dim;  // [head_dim]
    float* yh = y + j * head_dim;        // [head_dim]
    rotate(xh, yh, half, cs, sn);
    for (int64_t d = p.n_rot; d < head_dim; ++d) yh[d] = xh[d];
  }
}

}  // namespace autoglm::cpu
