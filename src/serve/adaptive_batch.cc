#include "serve/adaptive_batch.h"

#include <algorithm>
#include <cmath>

namespace autoglm::serve {
namespace {

// Never shrink below these: one decode token per sequence must fit, and tiny prefill chunks
// waste the weight reads a step costs anyway.
constexpr int64_t kMinStepTokens = 16;
constexpr int64_t kMinBatch = 1;

}  // namespace

AdaptiveBatch::AdaptiveBatch(int64_t max_step_tokens, int64_t max_batch,
                             std::chrono::milliseconds target)
    : max_step_tokens_(max_step_tokens),
      max_batch_limit_(max_batch),
      target_ms_(static_cast<double>(target.count())),
      step_tokens_(max_step_tokens),
      max_batch_(max_batch) {}

void AdaptiveBatch::observe(double step_ms, int64_t n_tokens, int64_t n_seqs) {
  if (target_ms_ <= 0 || step_ms <= 0 || n_tokens <= 0) return;
  // Step time grows about linearly with tokens once the weight reads are amortized, so scale
  // the limits by target/actual, damped so one noisy step cannot swing them far.
  const double ratio = std::clamp(target_ms_ / step_ms, 0.5, 1.25);
  const bool over = step_ms > target_ms_ * 1.1, under = step_ms < target_ms_ * 0.9;
  if (over) {
    step_tokens_ = std::max(kMinStepTokens, static_cast<int64_t>(n_tokens * ratio));
    // Only decode tokens left and still too slow: fewer sequences per step.
    if (n_tokens <= n_seqs) {
      max_batch_ = std::max(kMinBatch,
                            std::min(max_batch_, static_cast<int64_t>(std::floor(n_seqs * ratio))));
    }
  } else if (under) {
    // Grow only limits the step actually hit; otherwise the measurement says nothing about them.
    if (n_tokens >= step_tokens_) {
      step_tokens_ =
          std::min(max_step_tokens_, static_cast<int64_t>(std::ceil(step_tokens_ * ratio)) + 1);
    }
    if (n_seqs >= max_batch_) max_batch_ = std::min(max_batch_limit_, max_batch_ + 1);
  }
  max_batch_ = std::min(max_batch_, step_tokens_);
}

}  // namespace autoglm::serve
