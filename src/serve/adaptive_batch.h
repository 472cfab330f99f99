// Adaptive batching: steers the per-step token budget and the running-batch cap from measured
// step latency toward a target inter-token latency. Below target the limits grow back toward
// their configured maxima (throughput); above it they shrink (latency). Without a target the
// limits stay at their maxima.
#pragma once

#include <chrono>
#include <cstdint>

namespace autoglm::serve {

class AdaptiveBatch {
 public:
  AdaptiveBatch(int64_t max_step_tokens, int64_t max_batch, std::chrono::milliseconds target);

  int64_t step_tokens() const { return step_tokens_; }
  int64_t max_batch() const { return max_batch_; }

  // One step took step_ms for n_tokens tokens of n_seqs sequences.
  void observe(double step_ms, int64_t n_tokens, int64_t n_seqs);

 private:
  int64_t max_step_tokens_, max_batch_limit_;
  double target_ms_;
  int64_t step_tokens_, max_batch_;
};

}  // namespace autoglm::serve
