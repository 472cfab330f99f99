#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace autoglm::runtime {

Status SamplingParams::validate() const {
  auto bad = [](const std::string& what) { return error(ErrorCode::InvalidArgument, what); };
  if (!(temperature >= 0.0f) || temperature > 100.0f) return bad("temperature must be in [0, 100]");
  if (!(top_p > 0.0f && top_p <= 1.0f)) return bad("top_p must be in (0, 1]");
  if (!(min_p >= 0.0f && min_p < 1.0f)) return bad("min_p must be in [0, 1)");
  if (!(repeat_penalty > 0.0f)) return bad("repeat_penalty must be positive");
  if (repeat_last_n < 0) return bad("repeat_last_n must be >= 0");
  return {};
}

int32_t argmax(std::span<const float> logits) {
  // std::max_element's answer (the first largest, NaNs treated as it does) from vector loops:
  // each chunk's maximum from 16 running maxima, then a scalar search for the index in the first
  // chunk holding the overall one only. This runs per sequence per engine step; searching all
  // 49152 logits of the default model one by one took most of its time.
  constexpr size_t kLanes = 16, kChunk = 1024;
  // GCC/Clang vector extensions: SSE or NEON registers without ISA-specific code here.
  using V4 = float __attribute__((vector_size(16)));
  const size_t n = logits.size();
  if (n == 0) return 0;
  const float first = logits[0];  // every running maximum starts here, as max_element's does
  // The largest so far and the first chunk that reached it (a later equal one is not first).
  float best = first;
  size_t best_chunk = 0;
  for (size_t c = 0; c * kChunk < n; ++c) {
    const size_t end = std::min(n, (c + 1) * kChunk);
    V4 part[kLanes / 4];
    for (V4& p : part) p = V4{first, first, first, first};
    size_t i = c * kChunk;
    for (; i + kLanes <= end; i += kLanes) {
      for (size_t j = 0; j < kLanes / 4; ++j) {
        V4 x;
        std::memcpy(&x, &logits[i + 4 * j], sizeof(x));
        part[j] = x > part[j] ? x : part[j];
      }
    }
    float m = part[0][0];
    for (const V4& p : part) {
      for (int l = 0; l < 4; ++l) m = p[l] > m ? p[l] : m;
    }
    for (; i < end; ++i) m = logits[i] > m ? logits[i] : m;
    if (m > best) {
      best = m;
      best_chunk = c;
    }
  }
  // Found unless every logit is NaN (then nothing equals best, and max_element answers 0).
  const size_t end = std::min(n, (best_chunk + 1) * kChunk);
  for (size_t k = best_chunk * kChunk; k < end; ++k) {
    if (logits[k] == best) return static_cast<int32_t>(k);
  }
  return 0;
}

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

namespace {

// The distinct ids of the last repeat_last_n tokens, ascending; empty when no penalty applies.
std::vector<int32_t> penalized_ids(const SamplingParams& p, std::span<const int32_t> history,
                                   size_t n_vocab) {
  if (p.repeat_penalty == 1.0f || p.repeat_last_n <= 0) return {};
  const size_t n = std::min(history.size(), static_cast<size_t>(p.repeat_last_n));
  std::vector<int32_t> ids;
  for (int32_t id : history.subspan(history.size() - n)) {
    if (id >= 0 && static_cast<size_t>(id) < n_vocab) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

float penalize(float l, float penalty) {
  return l > 0 ? l / penalty : l * penalty;  // as llama.cpp / CTRL
}

}  // namespace

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const std::vector<int32_t> pen = penalized_ids(p_, history, logits.size());
  if (p_.temperature <= 0.0f) {
    // Greedy: no candidate list (this runs per sequence per step on the engine thread). The
    // first maximum wins, as std::max_element's.
    if (pen.empty()) return argmax(logits);
    int32_t best = 0;
    float best_l = -INFINITY;
    size_t j = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      float l = logits[i];
      if (j < pen.size() && static_cast<size_t>(pen[j]) == i)
        l = penalize(l, p_.repeat_penalty), ++j;
      if (l > best_l || i == 0) best_l = l, best = static_cast<int32_t>(i);
    }
    return best;
  }
  cand_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) cand_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  for (int32_t id : pen) cand_[id].logit = penalize(cand_[id].logit, p_.repeat_penalty);
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
  };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
    keep = static_cast<size_t>(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(keep), cand_.end(),
                      by_logit);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  cand_.resize(keep);

  auto softmax = [&](float temp) {
    const float mx = cand_.front().logit;
    double sum = 0;
    for (auto& c : cand_) sum += (c.p = std::exp((c.logit - mx) / temp));
    for (auto& c : cand_) c.p = static_cast<float>(c.p / sum);
  };
  softmax(1.0f);
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < cand_.size()) {
      cum += cand_[n++].p;
      if (cum >= p_.top_p) break;
    }
    cand_.resize(std::max<size_t>(n, 1));
  }
  if (p_.min_p > 0.0f) {
    const float floor = cand_.front().p * p_.min_p;
    size_t n = 1;
    while (n < cand_.size() && cand_[n].p >= floor) ++n;
    cand_.resize(n);
  }
  softmax(p_.temperature);
  // 53 random bits → [0, 1): identical on every platform, unlike std distributions.
  const double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
  double cum = 0;
  for (const auto& c : cand_) {
    cum += c.p;
    if (u < cum) return c.id;
  }
  return cand_.back().id;
}

}  // namespace autoglm::runtime
