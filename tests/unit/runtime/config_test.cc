#include "runtime/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tiny_model.h"

namespace autoglm::runtime {
namespace {

std::string write(const std::string& text) {
  static int n = 0;
  const std::string path = testing::temp_path("config_" + std::to_string(n++) + ".json");
  std::ofstream(path) << text;
  return path;
}

TEST(Config, FileWithCommentsSetsEveryKey) {
  RuntimeConfig c;
  const std::string path = write(R"({
    // which devices, in order
    "backend": ["opencl", "cpu"],
    "precision": "f32", /* KV in f32 */
    "fallback_policy": "error",
    "memory_alignment": 128,
    "threads": 3
  })");
  ASSERT_TRUE(apply_config_file(c, path).ok());
  EXPECT_EQ(c.backend, "opencl,cpu");
  EXPECT_EQ(c.precision, "f32");
  EXPECT_EQ(c.fallback_policy, sched::FallbackPolicy::Error);
  EXPECT_EQ(c.memory_alignment, 128u);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(*kv_dtype_for(c), DType::F32);
}

TEST(Config, EnvironmentOverridesTheFile) {
  RuntimeConfig c;
  ASSERT_TRUE(apply_config_file(c, write(R"({"threads": 3, "backend": "cpu"})")).ok());
  ::setenv("AUTOGLM_THREADS", "1", 1);
  const Status st = apply_config_env(c);
  ::unsetenv("AUTOGLM_THREADS");
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(c.threads, 1);
  EXPECT_EQ(c.backend, "cpu");
}

TEST(Config, InvalidValuesNameTheKeyAndTheAcceptedValues) {
  RuntimeConfig c;
  struct Case {
    const char* key;
    const char* value;
    const char* accepted;
  };
  for (const Case& k : {Case{"precision", "f8", "auto, f32, f16, bf16, int8"},
                        Case{"fallback_policy", "gpu", "cpu, error"},
                        Case{"memory_alignment", "48", "power of two"},
                        Case{"threads", "-2", "0 (physical cores) to 1024"}}) {
    const Status st = set_config_value(c, k.key, k.value);
    ASSERT_FALSE(st.ok()) << k.key;
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(st.message().find(std::string("'") + k.key + "'"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(k.accepted), std::string::npos) << st.message();
  }
  const Status unknown = set_config_value(c, "colour", "blue");
  EXPECT_NE(unknown.message().find("unknown config key 'colour' (known: backend"),
            std::string::npos);
  const Status in_file = apply_config_file(c, write(R"({"precision": 16})"));
  EXPECT_NE(in_file.message().find("'precision'"), std::string::npos) << in_file.message();
  EXPECT_FALSE(apply_config_file(c, write("{ not json")).ok());
  EXPECT_EQ(apply_config_file(c, "/nonexistent/autoglm.json").code(), ErrorCode::NotFound);
}

TEST(Config, PrecisionsWithoutAKvTypeAreRefusedClearly) {
  RuntimeConfig c;
  ASSERT_TRUE(set_config_value(c, "precision", "bf16").ok());
  auto kv = kv_dtype_for(c);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), ErrorCode::Unsupported);
}

}  // namespace
}  // namespace autoglm::runtime
