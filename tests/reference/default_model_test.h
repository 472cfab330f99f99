// The fixture and measures the reference tests share: the default model loaded once per suite,
// greedy continuations, and how far one set of logits drifts from another.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <span>
#include <vector>

#include "reference_model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"

namespace autoglm::reference {

class DefaultModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(model_path())) return;
    auto m = model::Model::load(model_path());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    model_ = std::move(*m).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(model_, nullptr) << kFetchHint << " (looked at " << model_path() << ")";
  }

  static std::unique_ptr<runtime::Session> session(runtime::SessionOptions o) {
    auto s = runtime::Session::create(*model_, o);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Greedy continuation; gaps[i] = our best logit minus our logit of expect[i] (0 where we
  // pick expect[i]), so a divergence can be judged as a near-tie or a real disagreement.
  static std::vector<int32_t> greedy(runtime::Session& s, const std::vector<int32_t>& prompt, int n,
                                     const std::vector<int32_t>& expect = {},
                                     std::vector<float>* gaps = nullptr) {
    std::vector<int32_t> out;
    auto logits = s.decode(prompt);
    EXPECT_TRUE(logits.ok()) << logits.status().to_string();
    for (int i = 0; i < n && logits.ok(); ++i) {
      const int32_t next = runtime::argmax(*logits);
      if (gaps && static_cast<size_t>(i) < expect.size())
        gaps->push_back((*logits)[next] - (*logits)[expect[i]]);
      out.push_back(next);
      if (i + 1 < n) logits = s.decode({&next, 1});
    }
    return out;
  }

  static inline model::Model* model_ = nullptr;
};

// Two sets of logits [n, n_vocab] of the same positions, compared row by row.
struct LogitDrift {
  size_t top1_agree = 0;  // rows whose argmax is the same
  double mean_abs = 0, max_abs = 0;
};

inline LogitDrift logit_drift(std::span<const float> a, std::span<const float> b, size_t n_vocab) {
  LogitDrift d;
  double sum = 0;
  for (size_t i = 0; i * n_vocab < a.size(); ++i) {
    const auto ra = a.subspan(i * n_vocab, n_vocab), rb = b.subspan(i * n_vocab, n_vocab);
    d.top1_agree += runtime::argmax(ra) == runtime::argmax(rb);
    for (size_t j = 0; j < n_vocab; ++j) {
      const double x = std::abs(static_cast<double>(ra[j]) - rb[j]);
      sum += x;
      d.max_abs = std::max(d.max_abs, x);
    }
  }
  d.mean_abs = a.empty() ? 0 : sum / static_cast<double>(a.size());
  return d;
}

// Rows of logits [n, n_vocab] whose argmax is want[i].
inline size_t top1_matches(std::span<const float> logits, std::span<const int32_t> want,
                           size_t n_vocab) {
  size_t n = 0;
  for (size_t i = 0; i < want.size(); ++i)
    n += runtime::argmax(logits.subspan(i * n_vocab, n_vocab)) == want[i];
  return n;
}

}  // namespace autoglm::reference
