#include "backends/cpu/kernels/matmul.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "backends/cpu/kernels/packed_matmul.h"
#include "core/half.h"
#include "core/quant.h"
#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

TEST(MatmulTypes, ActivationTypesFollowGgmlVecDotType) {
  EXPECT_EQ(matmul_activation_type(DType::Q4_0), DType::Q8_0);
  EXPECT_EQ(matmul_activation_type(DType::Q4_1), DType::Q8_1);
  EXPECT_EQ(matmul_activation_type(DType::Q8_0), DType::Q8_0);
  EXPECT_EQ(matmul_activation_type(DType::F16), DType::F16);
  EXPECT_EQ(matmul_activation_type(DType::BF16), DType::BF16);
  EXPECT_EQ(matmul_activation_type(DType::F32), DType::F32);
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::F16, DType::BF16, DType::F32}) {
    EXPECT_TRUE(matmul_supports(t)) << dtype_name(t);
  }
  EXPECT_FALSE(matmul_supports(DType::Q5_0));
  EXPECT_FALSE(matmul_supports(DType::Q8_1));
  EXPECT_FALSE(matmul_supports(DType::I32));
}

class MatmulTest : public KernelTest {
 protected:
  // One problem: checks the activation bytes, then y against two references. With `packed`,
  // the weights go through the repacked layout and its kernels in that sum order.
  void check(DType wtype, int64_t n_tok, int64_t n_out, int64_t k, uint32_t seed,
             std::optional<SumOrder> packed = std::nullopt) {
    SCOPED_TRACE(::testing::Message()
                 << dtype_name(wtype) << " n_tok=" << n_tok << " n_out=" << n_out << " k=" << k);
    const DType act = matmul_activation_type(wtype);
    // Weights with per-row scale spread and a padded row stride (as a strided view would have).
    std::vector<float> w = random_floats(static_cast<size_t>(n_out * k), seed);
    for (int64_t n = 0; n < n_out; ++n) {
      for (int64_t i = 0; i < k; ++i) w[n * k + i] *= 0.05f * static_cast<float>(1 + n % 5);
    }
    const std::vector<float> x = random_floats(static_cast<size_t>(n_tok * k), seed + 1);
    const size_t w_row_bytes = dtype_row_bytes(wtype, k) + 8;
    std::vector<uint8_t> wq(w_row_bytes * n_out);
    for (int64_t n = 0; n < n_out; ++n) quantize_row(wtype, &w[n * k], &wq[n * w_row_bytes], k);

    const size_t x_row_bytes = dtype_row_bytes(act, k);
    std::vector<uint8_t> xq(x_row_bytes * n_tok);
    run([&](int ith, int nth) {
      convert_activations(x.data(), n_tok, k, act, xq.data(), ith, nth);
    });
    std::vector<uint8_t> want(x_row_bytes);
    for (int64_t t = 0; t < n_tok; ++t) {
      quantize_row_activation(act, &x[t * k], want.data(), k);
      ASSERT_EQ(0, std::memcmp(want.data(), &xq[t * x_row_bytes], x_row_bytes)) << "token " << t;
    }

    const int64_t y_stride = n_out + 3;
    const float sentinel = std::bit_cast<float>(0x7fc0dead);
    std::vector<float> y(static_cast<size_t>(n_tok * y_stride), sentinel);
    if (packed) {
      PackedWeight pw = alloc_packed_weight(wtype, n_out, k);
      ASSERT_NE(pw.data, nullptr);
      pack_weight_groups(pw, wq.data(), w_row_bytes, 0, (n_out + kPackRows - 1) / kPackRows);
      pw.order = *packed;
      run([&](int ith, int nth) {
        packed_matmul(pw, xq.data(), n_tok, y.data(), y_stride, ith, nth);
      });
    } else {
      run([&](int ith, int nth) {
        matmul(wtype, wq.data(), w_row_bytes, xq.data(), n_tok, n_out, k, y.data(), y_stride, ith,
               nth);
      });
    }

    std::vector<float> wd(k), xd(k);
    for (int64_t n = 0; n < n_out; ++n) {
      dequantize_row(wtype, &wq[n * w_row_bytes], wd.data(), k);
      for (int64_t t = 0; t < n_tok; ++t) {
        dequantize_row(act, &xq[t * x_row_bytes], xd.data(), k);
        double ref = 0, abs_sum = 0, exact = 0, quant_err = 0;
        for (int64_t i = 0; i < k; ++i) {
          const double wi = w[n * k + i], xi = x[t * k + i];
          ref += static_cast<double>(wd[i]) * xd[i];
          abs_sum += std::fabs(static_cast<double>(wd[i]) * xd[i]);
          exact += wi * xi;
          quant_err +=
              std::fabs(wi - wd[i]) * std::fabs(xi) + std::fabs(wd[i]) * std::fabs(xi - xd[i]);
        }
        // f32 accumulation: well under 3e-5 of the absolute sum even summed sequentially.
        double tol = 3e-5 * abs_sum + 1e-9;
        if (wtype == DType::Q4_1)
          tol += q8_1_sum_rounding(&wq[n * w_row_bytes], &xq[t * x_row_bytes], k);
        const double got = y[t * y_stride + n];
        ASSERT_NEAR(got, ref, tol) << "t=" << t << " n=" << n;
        // Against unquantized f32 the gap is bounded by the quantization errors themselves.
        ASSERT_NEAR(got, exact, quant_err + tol) << "t=" << t << " n=" << n;
      }
      for (int64_t t = 0; t < n_tok; ++t) {
        for (int64_t pad = n_out; pad < y_stride; ++pad) {
          ASSERT_EQ(std::bit_cast<uint32_t>(y[t * y_stride + pad]), 0x7fc0deadu) << "wrote padding";
        }
      }
    }
  }

  // Q8_1 stores s = fp16(d * sum(q)) from the unrounded d, while dequantizing uses fp16(d): the
  // Q4_1 dot's m*s term may differ from the dequantized product by 2 half-ulps of |m*s|.
  static double q8_1_sum_rounding(const uint8_t* w, const uint8_t* x, int64_t k) {
    double tol = 0;
    for (int64_t b = 0; b < k / 32; ++b) {
      BlockQ4_1 wb;
      BlockQ8_1 xb;
      std::memcpy(&wb, w + b * sizeof(wb), sizeof(wb));
      std::memcpy(&xb, x + b * sizeof(xb), sizeof(xb));
      tol += std::fabs(fp16_to_fp32(wb.m) * fp16_to_fp32(xb.s)) * (2.0 / 2048.0) * 1.01;
    }
    return tol;
  }
};

TEST_P(MatmulTest, AllWeightTypesMatchReferences) {
  uint32_t seed = 100;
  for (DType wtype : {DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::F16, DType::BF16, DType::F32}) {
    for (int64_t k : {32, 96, 576, 1536}) {
      for (int64_t n_out : {1, 3, 17, 49}) {
        for (int64_t n_tok : {1, 3, 7}) {
          check(wtype, n_tok, n_out, k, seed++);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST_P(MatmulTest, FloatWeightsTakeAnyRowLength) {
  for (DType wtype : {DType::F16, DType::BF16, DType::F32}) {
    for (int64_t k : {1, 7, 70}) {
      check(wtype, 5, 9, k, static_cast<uint32_t>(k));
      if (HasFatalFailure()) return;
    }
  }
}

// Activation quantization writes quantize_row_activation's bytes at every ISA level, whatever
// the row length (the AVX-512 path takes 16 blocks at a time, then single blocks), including
// blocks of zeros (scale 0), tiny and huge values, and rows split between threads.
TEST_P(MatmulTest, ActivationQuantizationMatchesReferenceBytes) {
  for (DType act : {DType::Q8_0, DType::Q8_1}) {
    for (int64_t k : {32, 480, 512, 544, 1024, 1568}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(act) << " k=" << k);
      const int64_t rows = 3;
      std::vector<float> x = random_floats(static_cast<size_t>(rows * k), 40 + k, 8.0f);
      for (int64_t i = 0; i < 32; ++i) x[i] = 0.0f;  // a block of zeros
      for (int64_t i = 0; i < std::min<int64_t>(32, k - 32); ++i) {
        x[k + 32 + i] *= 1e-30f;                 // tiny
        if (k > 64) x[2 * k + 64 + i] *= 1e30f;  // huge
      }
      const size_t rb = dtype_row_bytes(act, k);
      std::vector<uint8_t> got(rb * rows), want(rb * rows);
      run([&](int ith, int nth) {
        convert_activations(x.data(), rows, k, act, got.data(), ith, nth);
      });
      for (int64_t r = 0; r < rows; ++r) quantize_row_activation(act, &x[r * k], &want[r * rb], k);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), got.size()));
    }
  }
}

// Enough rows and tokens that every tile shape (4x1, 2x4 with remainders) and both the row and
// the token split run.
TEST_P(MatmulTest, LargerProblemsCoverAllTileShapes) {
  check(DType::Q4_1, 1, 131, 576, 1);
  check(DType::Q4_1, 13, 130, 576, 2);
  check(DType::Q4_0, 10, 67, 256, 3);
  check(DType::Q8_0, 9, 5, 128, 4);
}

// Both sum orders, with token counts that run every tile width (lanes: 2 and 1; blocks: 1 to 16,
// a tile of 9 or more in two interleaved halves, and 17 in two tiles).
TEST_P(MatmulTest, PackedWeightsMatchReferences) {
  uint32_t seed = 300;
  for (SumOrder order : {SumOrder::Lanes, SumOrder::Blocks}) {
    for (DType wtype : {DType::Q4_0, DType::Q4_1, DType::Q8_0}) {
      if (!packed_matmul_supports(wtype, 32)) GTEST_SKIP() << "no packed kernels at this level";
      for (int64_t k : {32, 96, 576, 1536}) {
        for (int64_t n_out : {1, 16, 17, 49}) {
          for (int64_t n_tok : {1, 3, 6, 7, 9, 16, 17}) {
            SCOPED_TRACE(order == SumOrder::Lanes ? "lanes" : "blocks");
            check(wtype, n_tok, n_out, k, seed++, order);
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(MatmulTest);

// A packed matmul of weights w: [n_out, k] and activations x: [n_tok, k], quantized from
// random values, in either sum order.
struct PackedProblem {
  DType wtype;
  int64_t n_tok = 11, n_out = 40, k = 192;
  size_t wrb = 0, xrb = 0;
  std::vector<uint8_t> wq, xq;
  PackedWeight pw;

  PackedProblem(DType t, SumOrder order, int64_t tokens = 11) : wtype(t), n_tok(tokens) {
    const DType act = matmul_activation_type(wtype);
    const std::vector<float> w = random_floats(static_cast<size_t>(n_out * k), 9);
    const std::vector<float> x = random_floats(static_cast<size_t>(n_tok * k), 10);
    wrb = dtype_row_bytes(wtype, k);
    xrb = dtype_row_bytes(act, k);
    wq.resize(wrb * n_out);
    xq.resize(xrb * n_tok);
    for (int64_t n = 0; n < n_out; ++n) quantize_row(wtype, &w[n * k], &wq[n * wrb], k);
    for (int64_t t = 0; t < n_tok; ++t) quantize_row_activation(act, &x[t * k], &xq[t * xrb], k);
    pw = alloc_packed_weight(wtype, n_out, k);
    if (!pw.data) return;
    pack_weight_groups(pw, wq.data(), wrb, 0, (n_out + kPackRows - 1) / kPackRows);
    pw.order = order;
  }

  // y: [n_tok, n_out] for tokens [t0, t0 + nt), the work split into nth parts.
  std::vector<float> run(int64_t t0, int64_t nt, int nth) const {
    std::vector<float> y(static_cast<size_t>(nt * n_out));
    for (int ith = 0; ith < nth; ++ith)
      packed_matmul(pw, &xq[t0 * xrb], nt, y.data(), n_out, ith, nth);
    return y;
  }
};

// A token's result does not depend on how many tokens share the step or how the work is split
// (the serving engine's batch invariance rests on it).
void expect_batch_invariant(const PackedProblem& p) {
  const std::vector<float> batch = p.run(0, p.n_tok, 1);
  for (int nth : {1, 3, 8}) {
    const std::vector<float> split = p.run(0, p.n_tok, nth);
    for (int64_t t = 0; t < p.n_tok; ++t) {
      const std::vector<float> alone = p.run(t, 1, nth);
      for (int64_t n = 0; n < p.n_out; ++n) {
        ASSERT_EQ(std::bit_cast<uint32_t>(batch[t * p.n_out + n]),
                  std::bit_cast<uint32_t>(split[t * p.n_out + n]))
            << "nth=" << nth << " t=" << t << " n=" << n;
        ASSERT_EQ(std::bit_cast<uint32_t>(batch[t * p.n_out + n]),
                  std::bit_cast<uint32_t>(alone[n]))
            << "nth=" << nth << " t=" << t << " n=" << n;
      }
    }
  }
}

// In the lane order the packed kernels give matmul()'s results bit for bit (the llama.cpp
// agreement tests are that sensitive), whether a group's weights are unpacked per tile (one or
// two tokens) or once for the chunk's tokens (three or more; 70 tokens are two chunks).
TEST(PackedMatmul, LaneOrderEqualsPlainKernelsWhateverTheBatchOrSplit) {
  for (auto [wtype, n_tok] : {std::pair{DType::Q4_0, 11}, std::pair{DType::Q4_1, 11},
                              std::pair{DType::Q8_0, 11}, std::pair{DType::Q4_1, 70}}) {
    if (!packed_matmul_supports(wtype, 32)) GTEST_SKIP() << "no packed kernels on this CPU";
    SCOPED_TRACE(::testing::Message() << dtype_name(wtype) << " n_tok=" << n_tok);
    const PackedProblem p(wtype, SumOrder::Lanes, n_tok);
    ASSERT_NE(p.pw.data, nullptr);
    const std::vector<float> batch = p.run(0, p.n_tok, 1);
    std::vector<float> plain(p.n_tok * p.n_out);
    matmul(wtype, p.wq.data(), p.wrb, p.xq.data(), p.n_tok, p.n_out, p.k, plain.data(), p.n_out, 0,
           1);
    for (size_t i = 0; i < batch.size(); ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(batch[i]), std::bit_cast<uint32_t>(plain[i]))
          << "element " << i << ": " << batch[i] << " vs " << plain[i];
    }
    expect_batch_invariant(p);
  }
}

// The block order rounds differently from the lane order (its accuracy is checked by
// MatmulTest.PackedWeightsMatchReferences) but is just as batch-invariant.
TEST(PackedMatmul, BlockOrderIsBatchInvariant) {
  for (DType wtype : {DType::Q4_0, DType::Q4_1, DType::Q8_0}) {
    if (!packed_matmul_supports(wtype, 32)) GTEST_SKIP() << "no packed kernels on this CPU";
    SCOPED_TRACE(dtype_name(wtype));
    const PackedProblem p(wtype, SumOrder::Blocks);
    ASSERT_NE(p.pw.data, nullptr);
    expect_batch_invariant(p);
  }
}

// The AVX-512 quantized kernels add the same f32 terms in the same order as the AVX2 ones, so
// switching level never changes a result (the llama.cpp agreement tests are that sensitive).
TEST(MatmulIsaAgreement, Avx512QuantizedEqualsAvx2BitForBit) {
  const Isa saved = active_isa();
  for (auto [wide, narrow] :
       {std::pair{Isa::Avx512Vnni, Isa::Avx2Vnni}, std::pair{Isa::Avx512, Isa::Avx2}}) {
    if (!isa_available(wide)) continue;
    for (DType wtype : {DType::Q4_0, DType::Q4_1, DType::Q8_0}) {
      for (int64_t n_tok : {2, 5, 8}) {
        SCOPED_TRACE(::testing::Message()
                     << isa_name(wide) << " " << dtype_name(wtype) << " n_tok=" << n_tok);
        const int64_t n_out = 13, k = 96;
        const DType act = matmul_activation_type(wtype);
        const std::vector<float> w = random_floats(static_cast<size_t>(n_out * k), 7);
        const std::vector<float> x = random_floats(static_cast<size_t>(n_tok * k), 8);
        const size_t wrb = dtype_row_bytes(wtype, k), xrb = dtype_row_bytes(act, k);
        std::vector<uint8_t> wq(wrb * n_out), xq(xrb * n_tok);
        for (int64_t n = 0; n < n_out; ++n) quantize_row(wtype, &w[n * k], &wq[n * wrb], k);
        for (int64_t t = 0; t < n_tok; ++t) {
          quantize_row_activation(act, &x[t * k], &xq[t * xrb], k);
        }
        std::vector<float> y_wide(n_tok * n_out), y_narrow(n_tok * n_out);
        set_isa_for_testing(wide);
        matmul(wtype, wq.data(), wrb, xq.data(), n_tok, n_out, k, y_wide.data(), n_out, 0, 1);
        set_isa_for_testing(narrow);
        matmul(wtype, wq.data(), wrb, xq.data(), n_tok, n_out, k, y_narrow.data(), n_out, 0, 1);
        for (size_t i = 0; i < y_wide.size(); ++i) {
          ASSERT_EQ(std::bit_cast<uint32_t>(y_wide[i]), std::bit_cast<uint32_t>(y_narrow[i]))
              << "element " << i << ": " << y_wide[i] << " vs " << y_narrow[i];
        }
      }
    }
  }
  set_isa_for_testing(saved);
}

}  // namespace
}  // namespace autoglm::cpu
