#include "backends/cpu/kernels/elementwise.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

class ElementwiseTest : public KernelTest {};

TEST_P(ElementwiseTest, MulAndAddWithAndWithoutBroadcast) {
  for (int64_t rows : {1, 3, 5}) {
    for (int64_t n : {1, 17, 577}) {
      for (bool broadcast : {false, true}) {
        SCOPED_TRACE(::testing::Message() << rows << "x" << n << " broadcast=" << broadcast);
        const int64_t b_rows = broadcast ? 1 : rows;
        const auto a = random_floats(rows * n, 1);
        const auto b = random_floats(b_rows * n, 2);
        std::vector<float> ym(rows * n), ya(rows * n);
        run([&](int ith, int nth) {
          mul(a.data(), b.data(), ym.data(), rows, n, b_rows, ith, nth);
          add(a.data(), b.data(), ya.data(), rows, n, b_rows, ith, nth);
        });
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t i = 0; i < n; ++i) {
            const float bv = b[(broadcast ? 0 : r) * n + i];
            ASSERT_EQ(ym[r * n + i], a[r * n + i] * bv) << r << "," << i;
            ASSERT_EQ(ya[r * n + i], a[r * n + i] + bv) << r << "," << i;
          }
        }
      }
    }
  }
}

TEST_P(ElementwiseTest, MulInPlace) {
  auto a = random_floats(3 * 40, 3);
  const auto b = random_floats(40, 4);
  const auto orig = a;
  run([&](int ith, int nth) { mul(a.data(), b.data(), a.data(), 3, 40, 1, ith, nth); });
  for (int i = 0; i < 120; ++i) ASSERT_EQ(a[i], orig[i] * b[i % 40]);
}

TEST_P(ElementwiseTest, SiluMatchesDoubleReference) {
  for (int64_t n : {1, 9, 1536}) {
    auto x = random_floats(n, static_cast<uint32_t>(n), 4.0f);
    if (n > 8) {
      x[0] = -100.0f;
      x[1] = 100.0f;
      x[2] = 0.0f;
      x[3] = -87.0f;
      x[4] = 1e-6f;
    }
    std::vector<float> y(n);
    run([&](int ith, int nth) { silu(x.data(), y.data(), n, ith, nth); });
    for (int64_t i = 0; i < n; ++i) {
      const double xi = x[i];
      const double want = xi / (1.0 + std::exp(-xi));
      ASSERT_NEAR(y[i], want, 1e-6 * std::fabs(want) + 1e-30) << "x=" << xi;
    }
  }
}

// SwiGLU's one pass rounds each element as silu then mul do, whatever the length (vector
// bodies, tails) or the split over threads, and may write over its input.
TEST_P(ElementwiseTest, SiluMulEqualsSiluThenMulBitForBit) {
  for (int64_t n : {1, 7, 8, 15, 16, 17, 100, 1536}) {
    SCOPED_TRACE(n);
    const auto x = random_floats(n, static_cast<uint32_t>(n) + 10, 6.0f);
    const auto up = random_floats(n, static_cast<uint32_t>(n) + 20, 3.0f);
    std::vector<float> want(n), got(n), in_place = x;
    run([&](int ith, int nth) { silu(x.data(), want.data(), n, ith, nth); });
    run([&](int ith, int nth) { mul(want.data(), up.data(), want.data(), 1, n, 1, ith, nth); });
    run([&](int ith, int nth) { silu_mul(x.data(), up.data(), got.data(), n, ith, nth); });
    run([&](int ith, int nth) {
      silu_mul(in_place.data(), up.data(), in_place.data(), n, ith, nth);
    });
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i])) << i;
      ASSERT_EQ(std::bit_cast<uint32_t>(in_place[i]), std::bit_cast<uint32_t>(want[i])) << i;
    }
  }
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(ElementwiseTest);

}  // namespace
}  // namespace autoglm::cpu
