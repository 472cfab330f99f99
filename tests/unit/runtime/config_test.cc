#include "runtime/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "backends/cpu/cpu_device.h"
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
                        Case{"threads", "-2", "0 (physical cores) to 1024"},
                        Case{"kv_dtype", "q4_0", "auto, f16, f32, q8_0"}}) {
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

// kv_dtype picks the cache type whatever the precision; auto follows the precision.
TEST(Config, KvDtypeOverridesThePrecisionsCacheType) {
  RuntimeConfig c;
  ASSERT_TRUE(apply_config_file(c, write(R"({"precision": "f32", "kv_dtype": "q8_0"})")).ok());
  EXPECT_EQ(*kv_dtype_for(c), DType::Q8_0);
  ::setenv("AUTOGLM_KV_DTYPE", "f16", 1);
  const Status st = apply_config_env(c);
  ::unsetenv("AUTOGLM_KV_DTYPE");
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(*kv_dtype_for(c), DType::F16);
  ASSERT_TRUE(set_config_value(c, "kv_dtype", "auto").ok());
  EXPECT_EQ(*kv_dtype_for(c), DType::F32);
  c.kv_dtype = "bf16";  // set directly, past set_config_value's check
  EXPECT_EQ(kv_dtype_for(c).status().code(), ErrorCode::InvalidArgument);
}

TEST(Config, PrecisionsWithoutAKvTypeAreRefusedClearly) {
  RuntimeConfig c;
  ASSERT_TRUE(set_config_value(c, "precision", "bf16").ok());
  auto kv = kv_dtype_for(c);
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(kv.status().message().find("config key 'precision': 'bf16'"), std::string::npos);
  EXPECT_NE(kv.status().message().find("accepted: auto, f32, f16"), std::string::npos);
  // An explicit KV type does not make a precision no kernel has acceptable.
  ASSERT_TRUE(set_config_value(c, "kv_dtype", "q8_0").ok());
  EXPECT_EQ(kv_dtype_for(c).status().code(), ErrorCode::Unsupported);
  cpu::CpuDevice cpu(1);
  auto on_cpu = choose_precision("bf16", cpu);
  ASSERT_FALSE(on_cpu.ok());
  EXPECT_NE(on_cpu.status().message().find("device 'cpu'"), std::string::npos);
}

// int8 is the packed kernels' integer block sums: where they run it keeps auto's KV type (or the
// one asked for); elsewhere it is refused, saying what it needs.
TEST(Config, Int8RunsWhereTheCpuHasIntegerBlockSums) {
  RuntimeConfig c;
  ASSERT_TRUE(set_config_value(c, "precision", "int8").ok());
  cpu::CpuDevice cpu(1);
  auto kv = kv_dtype_for(c);
  auto on_cpu = choose_precision("int8", cpu);
  if (cpu.props().int8_block_sums) {
    ASSERT_TRUE(kv.ok()) << kv.status().to_string();
    EXPECT_EQ(*kv, DType::F16);
    ASSERT_TRUE(on_cpu.ok());
    EXPECT_NE(on_cpu->why.find("integers"), std::string::npos);
    ASSERT_TRUE(set_config_value(c, "kv_dtype", "q8_0").ok());
    EXPECT_EQ(*kv_dtype_for(c), DType::Q8_0);
  } else {
    ASSERT_FALSE(kv.ok());
    EXPECT_EQ(kv.status().code(), ErrorCode::Unsupported);
    EXPECT_NE(kv.status().message().find("AVX-512 VNNI"), std::string::npos);
    EXPECT_FALSE(on_cpu.ok());
  }
}

// A CPU device that reports another preferred KV type, as a device without fast f16 does.
class PrefersDevice : public hal::Device {
 public:
  explicit PrefersDevice(DType kv) : cpu_(1), kv_(kv) {}
  hal::DeviceProps props() const override {
    hal::DeviceProps p = cpu_.props();
    p.name = "prefers";
    p.preferred_kv = kv_;
    p.precision_note = "test device";
    return p;
  }
  bool supports(const graph::Graph& g, const graph::Node& n) const override {
    return cpu_.supports(g, n);
  }
  hal::BufferType& buffer_type() override { return cpu_.buffer_type(); }
  std::unique_ptr<hal::Stream> create_stream() override { return cpu_.create_stream(); }

 private:
  cpu::CpuDevice cpu_;
  DType kv_;
};

TEST(Config, AutoPrecisionPicksPerDevice) {
  cpu::CpuDevice cpu(1);
  auto c = choose_precision("auto", cpu);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->kv, DType::F16);
  EXPECT_NE(c->why.find("f16"), std::string::npos) << c->why;
  PrefersDevice f32_device(DType::F32);
  auto p = choose_precision("auto", f32_device);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->kv, DType::F32);
  EXPECT_EQ(p->why, "test device");
  auto f16 = choose_precision("f16", f32_device);
  ASSERT_TRUE(f16.ok());
  EXPECT_EQ(f16->kv, DType::F16);
  // A preference the kernels cannot honour is a bug, reported rather than used.
  PrefersDevice bf16_device(DType::BF16);
  EXPECT_EQ(choose_precision("auto", bf16_device).status().code(), ErrorCode::Internal);

  RuntimeConfig cfg;
  cfg.backend = "cpu";
  auto kv = kv_dtype_for(cfg);
  ASSERT_TRUE(kv.ok()) << kv.status().to_string();
  EXPECT_EQ(*kv, DType::F16);
}

}  // namespace
}  // namespace autoglm::runtime
