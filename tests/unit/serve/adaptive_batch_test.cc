// Adaptive batching moves its limits toward the target latency and stays inside its bounds.
#include <gtest/gtest.h>

#include "serve/adaptive_batch.h"

namespace autoglm::serve {
namespace {

using std::chrono::milliseconds;

TEST(AdaptiveBatch, WithoutTargetLimitsStayAtMaxima) {
  AdaptiveBatch a(512, 32, milliseconds(0));
  a.observe(1000.0, 512, 32);
  EXPECT_EQ(a.step_tokens(), 512);
  EXPECT_EQ(a.max_batch(), 32);
}

TEST(AdaptiveBatch, SlowStepsShrinkFastStepsGrowBack) {
  AdaptiveBatch a(512, 32, milliseconds(50));
  a.observe(200.0, 512, 4);  // prefill-heavy step, 4x over target
  EXPECT_LT(a.step_tokens(), 512);
  EXPECT_GE(a.step_tokens(), 16);
  EXPECT_EQ(a.max_batch(), 32);  // the step was not decode-only
  for (int i = 0; i < 20; ++i) a.observe(200.0, a.step_tokens(), 4);
  EXPECT_EQ(a.step_tokens(), 16);  // floor

  a.observe(100.0, 20, 20);  // decode-only and still slow: fewer sequences
  EXPECT_EQ(a.max_batch(), 10);

  for (int i = 0; i < 200; ++i) a.observe(10.0, a.step_tokens(), a.max_batch());
  EXPECT_EQ(a.step_tokens(), 512);
  EXPECT_EQ(a.max_batch(), 32);
}

TEST(AdaptiveBatch, LimitsTheStepDidNotReachDoNotGrow) {
  AdaptiveBatch a(512, 32, milliseconds(50));
  a.observe(200.0, 100, 100);
  const int64_t tokens = a.step_tokens(), batch = a.max_batch();
  a.observe(5.0, 1, 1);  // a lone decode is fast: says nothing about bigger steps
  EXPECT_EQ(a.step_tokens(), tokens);
  EXPECT_EQ(a.max_batch(), batch);
}

}  // namespace
}  // namespace autoglm::serve
