#include "backends/cpu/kernels/get_rows.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/quant.h"
#include "kernel_test_util.h"

namespace autoglm::cpu {
namespace {

using testing::KernelTest;
using testing::random_floats;

class GetRowsTest : public KernelTest {};

TEST_P(GetRowsTest, GathersAndDequantizesEveryType) {
  const int64_t n_rows = 50, n_embd = 96;
  const std::vector<float> table = random_floats(n_rows * n_embd, 5);
  const std::vector<int32_t> ids = {0, 49, 7, 7, 3, 12, 48, 0, 25, 31, 2};
  const auto n_ids = static_cast<int64_t>(ids.size());
  for (DType t :
       {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q8_1}) {
    SCOPED_TRACE(dtype_name(t));
    const size_t row_bytes = dtype_row_bytes(t, n_embd) + 4;  // strided table
    std::vector<uint8_t> q(row_bytes * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) {
      quantize_row(t, &table[r * n_embd], &q[r * row_bytes], n_embd);
    }
    std::vector<float> out(n_ids * n_embd, -1.0f);
    run([&](int ith, int nth) {
      get_rows(t, q.data(), row_bytes, ids.data(), n_ids, n_embd, out.data(), ith, nth);
    });
    std::vector<float> want(n_embd);
    for (int64_t i = 0; i < n_ids; ++i) {
      dequantize_row(t, &q[ids[i] * row_bytes], want.data(), n_embd);
      for (int64_t e = 0; e < n_embd; ++e) {
        ASSERT_EQ(out[i * n_embd + e], want[e]) << "id " << i << " elem " << e;
        if (t == DType::F32) {
          ASSERT_EQ(out[i * n_embd + e], table[ids[i] * n_embd + e]);
        }
      }
    }
  }
}

AUTOGLM_INSTANTIATE_KERNEL_TEST(GetRowsTest);

}  // namespace
}  // namespace autoglm::cpu
