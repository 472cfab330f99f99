#include "backends/cpu/kernels/softmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

class SoftmaxTest : public KernelTest {};

TEST_P(SoftmaxTest, MatchesDoubleReference) {
  for (int64_t rows : {1, 4, 7}) {
    for (int64_t n : {1, 5, 37, 300}) {
      for (float scale : {1.0f, 0.125f, 30.0f}) {
        SCOPED_TRACE(::testing::Message() << rows << "x" << n << " scale=" << scale);
        const auto x = random_floats(rows * n, static_cast<uint32_t>(rows * n), 4.0f);
        std::vector<float> y(rows * n);
        run([&](int ith, int nth) { softmax(x.data(), y.data(), rows, n, scale, ith, nth); });
        for (int64_t r = 0; r < rows; ++r) {
          const float* xr = &x[r * n];
          double max = -1e300;
          for (int64_t i = 0; i < n; ++i) max = std::max(max, static_cast<double>(xr[i]) * scale);
          double sum = 0;
          for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(xr[i]) * scale - max);
          double total = 0;
          for (int64_t i = 0; i < n; ++i) {
            const double want = std::exp(static_cast<double>(xr[i]) * scale - max) / sum;
            // x*scale rounds in f32 first: relative error ~ |x*scale| * 2^-24 in the exponent.
            const double tol = 2e-6 * want * (1.0 + std::fabs(xr[i] * scale)) + 1e-12;
            ASSERT_NEAR(y[r * n + i], want, tol) << r << "," << i;
            total += y[r * n + i];
          }
          ASSERT_NEAR(total, 1.0, 1e-5);
        }
      }
    }
  }
}

TEST_P(SoftmaxTest, MaskedEntriesGetZeroAndInPlaceWorks) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {1.0f, -inf, 2.0f, -inf, -inf, 0.5f, 3.0f, -inf, 1.0f, 1.0f, -inf};
  const auto n = static_cast<int64_t>(x.size());
  run([&](int ith, int nth) { softmax(x.data(), x.data(), 1, n, 1.0f, ith, nth); });
  double sum = std::exp(1.0) * 3 + std::exp(2.0) + std::exp(0.5) + std::exp(3.0);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[10], 0.0f);
  EXPECT_NEAR(x[6], std::exp(3.0) / sum, 1e-6);
  EXPECT_NEAR(x[0], std::exp(1.0) / sum, 1e-6);
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(SoftmaxTest);

}  // namespace
}  // namespace autoglm::cpu
