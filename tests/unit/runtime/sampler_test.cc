#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "runtime/sampler.h"

namespace autoglm::runtime {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f};

TEST(Sampler, ZeroTemperatureIsGreedy) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

// argmax is std::max_element's answer: the first of equal maxima, NaNs never chosen (unless
// first), at every length around the 16-lane passes and the 1024-element chunks, and wherever
// the maximum sits.
TEST(Sampler, ArgmaxIsTheFirstLargestLikeMaxElement) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(-3, 3);  // few distinct values: many ties
  for (size_t n : {1u, 2u, 15u, 16u, 17u, 31u, 33u, 100u, 1023u, 1024u, 1025u, 3000u, 49152u}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(small(rng));
      if (trial % 4 == 1) v[rng() % n] = NAN;
      if (trial % 4 == 2) v[rng() % n] = 100.0f;
      if (trial % 4 == 3) v[n - 1] = 100.0f;
      if (trial == 4) v[0] = 100.0f;  // logits[0] the largest, also seen by every chunk
      if (trial == 8) v[0] = NAN;
      const auto want = std::max_element(v.begin(), v.end()) - v.begin();
      EXPECT_EQ(argmax(v), want) << "n=" << n << " trial " << trial;
    }
  }
  EXPECT_EQ(argmax(std::vector<float>{NAN, 1.0f, 2.0f}), 0);
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.top_k = 1;
  p.temperature = 5.0f;
  Sampler s(p);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDiffers) {
  SamplingParams p;
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  auto draw = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits, {}));
    return out;
  };
  EXPECT_EQ(draw(3), draw(3));
  EXPECT_NE(draw(3), draw(4));
}

TEST(Sampler, FrequenciesFollowSoftmax) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(kLogits, {})];
  double z = 0;
  for (float l : kLogits) z += std::exp(l);
  for (size_t i = 0; i < kLogits.size(); ++i) {
    EXPECT_NEAR(counts[static_cast<int32_t>(i)] / double(n), std::exp(kLogits[i]) / z, 0.015) << i;
  }
}

TEST(Sampler, TopPAndMinPTrimTheTail) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.5f;  // token 1 (p≈0.33) and 5 (≈0.30) cover it
  p.min_p = 0.0f;
  Sampler s(p);
  for (int i = 0; i < 200; ++i) {
    const int32_t t = s.sample(kLogits, {});
    EXPECT_TRUE(t == 1 || t == 5) << t;
  }
  p.top_p = 1.0f;
  p.min_p = 0.9f;  // only tokens within 90% of the best: 1 and 5 (e^-0.1 ≈ 0.905)
  Sampler m(p);
  for (int i = 0; i < 200; ++i) {
    const int32_t t = m.sample(kLogits, {});
    EXPECT_TRUE(t == 1 || t == 5) << t;
  }
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(s.sample(kLogits, history), 5);  // 3.0 / 2 = 1.5 < 2.9
}

TEST(Sampler, ValidateNamesTheField) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_NE(p.validate().message().find("top_p"), std::string::npos);
  p = {};
  p.temperature = -1;
  EXPECT_NE(p.validate().message().find("temperature"), std::string::npos);
}

}  // namespace
}  // namespace autoglm::runtime
