// Rotary position embedding.
#pragma once

#include <cstdint>

namespace autoglm::cpu {

struct RopeParams {
  int n_rot;                  // rotated dims per head (<= head_dim), even
  bool neox;                  // false: pairs (2i, 2i+1) ("normal", llama); true: (i, i+n_rot/2)
  float freq_base;            // theta_i = pos * freq_scale * freq_base^(-2i/n_rot)
  float freq_scale;           // 1/linear scaling factor
  const float* freq_factors;  // nullable, [n_rot/2]: theta_i /= freq_factors[i] (llama3 rope_freqs)
};

// x, y: [n_tok, n_head, head_dim] (may alias); pos: [n_tok]. Dims past n_rot are copied.
// Parallel over (token, head) pairs.
void rope(const float* x, float* y, int64_t n_tok, int64_t n_head, int64_t head_dim,
          const int32_t* pos, const RopeParams& p, int ith, int nth);

}  // namespace autoglm::cpu
