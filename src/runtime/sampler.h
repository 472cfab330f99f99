// Token sampling: greedy, temperature, top-k, top-p, min-p, repetition penalty; seeded so the
// same seed gives the same output.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace autoglm::runtime {

struct SamplingParams {
  float temperature = 0.8f;     // <= 0: greedy
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;

  // InvalidArgument naming the field when a value is out of range.
  Status validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // history: tokens seen so far (for the repetition penalty).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace autoglm::runtime
