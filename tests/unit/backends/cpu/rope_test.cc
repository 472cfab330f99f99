#include "backends/cpu/kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

struct RopeCase {
  int64_t n_tok, n_head, head_dim;
  int n_rot;
  bool neox;
  float freq_base, freq_scale;
  bool with_factors;
};

class RopeTest : public KernelTest {
 protected:
  void check(const RopeCase& c, bool in_place) {
    SCOPED_TRACE(::testing::Message()
                 << "n_tok=" << c.n_tok << " n_head=" << c.n_head << " head_dim=" << c.head_dim
                 << " n_rot=" << c.n_rot << " neox=" << c.neox << " in_place=" << in_place);
    const int64_t n = c.n_tok * c.n_head * c.head_dim;
    std::vector<float> x = random_floats(n, static_cast<uint32_t>(n + c.n_rot));
    std::mt19937 rng(3);
    std::vector<int32_t> pos(c.n_tok);
    for (auto& p : pos) p = static_cast<int32_t>(rng() % 300);
    std::vector<float> factors(c.n_rot / 2);
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + static_cast<float>(i % 4);
    const RopeParams p{c.n_rot, c.neox, c.freq_base, c.freq_scale,
                       c.with_factors ? factors.data() : nullptr};

    std::vector<float> y(n);
    std::vector<float> x_copy = x;
    float* out = in_place ? x_copy.data() : y.data();
    run([&](int ith, int nth) {
      rope(x_copy.data(), out, c.n_tok, c.n_head, c.head_dim, pos.data(), p, ith, nth);
    });

    for (int64_t t = 0; t < c.n_tok; ++t) {
      // ggml builds angles by repeated f32 multiplication; the error grows with the angle.
      const double tol = 2e-5 + 4e-7 * pos[t];
      for (int64_t h = 0; h < c.n_head; ++h) {
        const float* xh = &x[(t * c.n_head + h) * c.head_dim];
        const float* yh = out + (t * c.n_head + h) * c.head_dim;
        for (int i = 0; i < c.n_rot / 2; ++i) {
          double theta = pos[t] * static_cast<double>(c.freq_scale) *
                         std::pow(static_cast<double>(c.freq_base), -2.0 * i / c.n_rot);
          if (c.with_factors) theta /= factors[i];
          const int64_t a = c.neox ? i : 2 * i;
          const int64_t b = c.neox ? i + c.n_rot / 2 : 2 * i + 1;
          const double x0 = xh[a], x1 = xh[b];
          const double scale = std::fabs(x0) + std::fabs(x1);
          ASSERT_NEAR(yh[a], x0 * std::cos(theta) - x1 * std::sin(theta), tol * scale)
              << "t=" << t << " h=" << h << " i=" << i;
          ASSERT_NEAR(yh[b], x0 * std::sin(theta) + x1 * std::cos(theta), tol * scale)
              << "t=" << t << " h=" << h << " i=" << i;
        }
        for (int64_t d = c.n_rot; d < c.head_dim; ++d) ASSERT_EQ(yh[d], xh[d]) << "pass-through";
      }
    }
  }
};

TEST_P(RopeTest, MatchesDoubleReference) {
  const RopeCase cases[] = {
      {1, 9, 64, 64, false, 10000.0f, 1.0f, false},   // SmolLM decode
      {3, 9, 64, 64, false, 100000.0f, 1.0f, false},  // llama normal mode
      {7, 4, 64, 32, true, 10000.0f, 0.25f, true},  // partial NeoX, linear scaling, llama3 factors
      {3, 3, 40, 40, true, 1000000.0f, 1.0f, false},  // head_dim not a power of two
      {7, 2, 128, 96, false, 500000.0f, 1.0f, true},
  };
  for (const auto& c : cases) {
    check(c, false);
    check(c, true);
    if (HasFatalFailure()) return;
  }
}

TEST_P(RopeTest, PositionZeroIsIdentity) {
  std::vector<float> x = random_floats(2 * 64, 1);
  std::vector<float> y(x.size());
  const int32_t pos[1] = {0};
  const RopeParams p{64, false, 10000.0f, 1.0f, nullptr};
  run([&](int ith, int nth) { rope(x.data(), y.data(), 1, 2, 64, pos, p, ith, nth); });
  EXPECT_EQ(x, y);
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(RopeTest);

}  // namespace
}  // namespace autoglm::cpu
