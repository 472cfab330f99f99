#include "backends/cpu/kernels/norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

class NormTest : public KernelTest {};

TEST_P(NormTest, RmsNormMatchesDoubleReference) {
  for (int64_t rows : {1, 3, 8}) {
    for (int64_t n : {1, 70, 576, 1536}) {
      SCOPED_TRACE(::testing::Message() << "rows=" << rows << " n=" << n);
      const float eps = 1e-5f;
      std::vector<float> x = random_floats(rows * n, static_cast<uint32_t>(rows * n), 3.0f);
      x[0] += 50.0f;  // an outlier, as real activations have
      std::vector<float> y(rows * n);
      run([&](int ith, int nth) { rms_norm(x.data(), y.data(), rows, n, eps, ith, nth); });
      for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
        const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
        for (int64_t i = 0; i < n; ++i) {
          const double want = x[r * n + i] * scale;
          ASSERT_NEAR(y[r * n + i], want, 1e-6 * std::fabs(want) + 1e-7) << r << "," << i;
        }
      }
      // In place gives the same result.
      run([&](int ith, int nth) { rms_norm(x.data(), x.data(), rows, n, eps, ith, nth); });
      ASSERT_EQ(x, y);
    }
  }
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(NormTest);

}  // namespace
}  // namespace autoglm::cpu
