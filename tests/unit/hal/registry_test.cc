#include <gtest/gtest.h>

#include "backends/cpu/cpu_device.h"
#include "hal/registry.h"

namespace autoglm::hal {
namespace {

TEST(Registry, CreatesCpuAndNamesTheAvailableOnes) {
  Registry r;
  cpu::register_cpu_backend(r);
  auto dev = r.create("cpu", {2});
  ASSERT_TRUE(dev.ok());
  const DeviceProps p = (*dev)->props();
  EXPECT_EQ(p.name, "cpu");
  EXPECT_EQ(p.threads, 2);
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_FALSE(p.isa.empty());
  auto missing = r.create("tpu", {});
  EXPECT_EQ(missing.status().code(), ErrorCode::NotFound);
  EXPECT_NE(missing.status().message().find("available: cpu"), std::string::npos);
}

TEST(Registry, HigherPriorityComesFirstAndNamesAreUnique) {
  Registry r;
  cpu::register_cpu_backend(r);
  r.add({"fast", 10, [](const DeviceOptions&) -> Result<std::unique_ptr<Device>> {
           return error(ErrorCode::Unavailable, "no device");
         }});
  cpu::register_cpu_backend(r);
  ASSERT_EQ(r.backends().size(), 2u);
  EXPECT_EQ(r.backends()[0].name, "fast");
  EXPECT_EQ(r.create("fast", {}).status().code(), ErrorCode::Unavailable);
}

TEST(CpuDevice, BuffersAreAlignedAndZeroed) {
  cpu::CpuDevice dev(1);
  auto buf = dev.buffer_type().allocate(1000);
  ASSERT_TRUE(buf.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*buf)->data()) % dev.buffer_type().alignment(), 0u);
  const auto* p = static_cast<const uint8_t*>((*buf)->data());
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0);
}

}  // namespace
}  // namespace autoglm::hal
