#include "core/dtype.h"

#include <gtest/gtest.h>

namespace autoglm {
namespace {

TEST(DTypeTest, GgufIdsAndSizesMatchTheFormat) {
  struct Expect {
    uint32_t id;
    const char* name;
    int64_t block;
    size_t bytes;
  };
  // Ids and block sizes as the GGUF specification lists them.
  const Expect table[] = {{0, "f32", 1, 4},    {1, "f16", 1, 2},    {2, "q4_0", 32, 18},
                          {3, "q4_1", 32, 20}, {6, "q5_0", 32, 22}, {7, "q5_1", 32, 24},
                          {8, "q8_0", 32, 34}, {9, "q8_1", 32, 36}, {24, "i8", 1, 1},
                          {26, "i32", 1, 4},   {28, "f64", 1, 8},   {30, "bf16", 1, 2}};
  for (const auto& e : table) {
    const auto t = dtype_from_gguf(e.id);
    ASSERT_TRUE(t.has_value()) << e.name;
    const DTypeInfo& info = dtype_info(*t);
    EXPECT_EQ(info.name, e.name);
    EXPECT_EQ(info.block_size, e.block) << e.name;
    EXPECT_EQ(info.type_size, e.bytes) << e.name;
    EXPECT_EQ(info.quantized, e.block > 1) << e.name;
    EXPECT_EQ(dtype_from_name(e.name), t);
  }
}

TEST(DTypeTest, UnknownIdsAndNamesAreRejected) {
  EXPECT_FALSE(dtype_from_gguf(12).has_value());  // q4_K: not supported by this build
  EXPECT_FALSE(dtype_from_gguf(1000).has_value());
  EXPECT_FALSE(dtype_from_name("q4_k").has_value());
}

TEST(DTypeTest, RowBytesCountsWholeBlocks) {
  EXPECT_EQ(dtype_row_bytes(DType::Q4_1, 576), 18u * 20u);
  EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 49152), 1536u * 34u);
  EXPECT_EQ(dtype_row_bytes(DType::F16, 7), 14u);
  EXPECT_EQ(dtype_row_bytes(DType::F32, 3), 12u);
}

}  // namespace
}  // namespace autoglm
