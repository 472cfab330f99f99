// Log-probabilities of sampled tokens: log-softmax of the raw logits (before any sampling
// transform), as OpenAI-style APIs report them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace autoglm::serve {

struct TokenLogprob;

class LogSoftmax {
 public:
  // logits: [n_vocab] raw scores of one position.
  explicit LogSoftmax(std::span<const float> logits);
  float of(int32_t token) const;
  // The n most likely tokens, most likely first (ties: lower id first).
  std::vector<TokenLogprob> top(int32_t n) const;

 private:
  std::span<const float> logits_;
  double log_sum_ = 0;  // log(sum(exp(logits)))
};

}  // namespace autoglm::serve
