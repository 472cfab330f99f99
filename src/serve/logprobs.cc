#include "serve/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "serve/engine.h"

namespace autoglm::serve {

LogSoftmax::LogSoftmax(std::span<const float> logits) : logits_(logits) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - mx);
  log_sum_ = mx + std::log(sum);
}

float LogSoftmax::of(int32_t token) const {
  return static_cast<float>(logits_[static_cast<size_t>(token)] - log_sum_);
}

std::vector<TokenLogprob> LogSoftmax::top(int32_t n) const {
  const auto k = std::min(static_cast<size_t>(std::max(n, 0)), logits_.size());
  std::vector<int32_t> ids(logits_.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(),
                    [&](int32_t a, int32_t b) {
                      const float la = logits_[static_cast<size_t>(a)];
                      const float lb = logits_[static_cast<size_t>(b)];
                      return la != lb ? la > lb : a < b;
                    });
  std::vector<TokenLogprob> out;
  out.reserve(k);
  for (size_t i = 0; i < k; ++i) out.push_back({ids[i], of(ids[i])});
  return out;
}

}  // namespace autoglm::serve
