#include "hal/plugin_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "backends/cpu/cpu_device.h"
#include "hal/plugin_abi.h"
#include "hal/support_table.h"

namespace autoglm::hal {
namespace {

namespace fs = std::filesystem;

const std::string kOpenCl = AUTOGLM_BINARY_DIR "/lib/libautoglm_backend_opencl.so";
const std::string kBadAbi = AUTOGLM_TEST_PLUGIN_DIR "/libautoglm_backend_badabi.so";
const std::string kNoEntry = AUTOGLM_TEST_PLUGIN_DIR "/libautoglm_backend_noentry.so";

bool has_backend(const Registry& r, const std::string& name) {
  for (const auto& b : r.backends()) {
    if (b.name == name) return true;
  }
  return false;
}

// A scratch directory holding a text file named like a plugin.
fs::path garbage_dir() {
  const fs::path dir = fs::temp_directory_path() / ("autoglm_plugins_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "libautoglm_backend_garbage.so") << "not an ELF file\n";
  std::ofstream(dir / "README.txt") << "ignored: not named like a plugin\n";
  return dir;
}

TEST(PluginLoader, LoadsTheOpenClPlugin) {
  Registry r;
  const PluginOutcome o = load_plugin(r, kOpenCl);
  ASSERT_TRUE(o.loaded) << o.message;
  EXPECT_EQ(o.name, "opencl");
  EXPECT_TRUE(has_backend(r, "opencl"));
}

TEST(PluginLoader, RefusesAnotherAbiVersionClearly) {
  Registry r;
  const PluginOutcome o = load_plugin(r, kBadAbi);
  EXPECT_FALSE(o.loaded);
  EXPECT_NE(o.message.find("built for plugin ABI version " +
                           std::to_string(AUTOGLM_PLUGIN_ABI_VERSION + 1)),
            std::string::npos)
      << o.message;
  EXPECT_NE(o.message.find("rebuild the plugin"), std::string::npos) << o.message;
  EXPECT_TRUE(r.backends().empty());
}

TEST(PluginLoader, BrokenFilesDoNotStopTheOthers) {
  const fs::path dir = garbage_dir();
  Registry r;
  cpu::register_cpu_backend(r);
  const std::vector<PluginOutcome> out = load_plugins(
      r, {dir.string(), kBadAbi, kNoEntry, "/nonexistent/libautoglm_backend_gone.so", kOpenCl});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_NE(out[0].message.find("cannot load it as a shared library"), std::string::npos)
      << out[0].message;
  EXPECT_NE(out[1].message.find("ABI version"), std::string::npos) << out[1].message;
  EXPECT_NE(out[2].message.find("does not export autoglm_plugin_entry"), std::string::npos)
      << out[2].message;
  EXPECT_FALSE(out[3].loaded);
  EXPECT_TRUE(out[4].loaded) << out[4].message;
  EXPECT_TRUE(has_backend(r, "cpu"));
  EXPECT_TRUE(has_backend(r, "opencl"));
  fs::remove_all(dir);
}

TEST(PluginLoader, SearchPathStartsWithTheEnvironmentAndIncludesTheBuild) {
  setenv("AUTOGLM_PLUGIN_PATH", "/a:/b/libautoglm_backend_x.so::", 1);
  const std::vector<std::string> p = plugin_search_path();
  unsetenv("AUTOGLM_PLUGIN_PATH");
  ASSERT_GE(p.size(), 3u);
  EXPECT_EQ(p[0], "/a");
  EXPECT_EQ(p[1], "/b/libautoglm_backend_x.so");
  EXPECT_EQ(p[2], AUTOGLM_BINARY_DIR "/lib");
}

TEST(PluginLoader, EachFileLoadsOnceEvenWhenListedTwice) {
  Registry r;
  const auto out = load_plugins(r, {AUTOGLM_BINARY_DIR "/lib", kOpenCl});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].loaded);
}

TEST(PluginLoader, ARegistryRemembersWhatItWasOffered) {
  Registry r;
  load_plugins(r, {kBadAbi, kOpenCl});
  ::testing::internal::CaptureStderr();
  const auto again = load_plugins(r, {kBadAbi, kOpenCl});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "a repeat must not warn again";
  ASSERT_EQ(again.size(), 2u);
  EXPECT_FALSE(again[0].loaded);
  EXPECT_TRUE(again[1].loaded);
  EXPECT_EQ(r.plugins().size(), 2u);
}

TEST(SupportTable, FollowsTheWholeNodeQuery) {
  cpu::CpuDevice dev(1);
  for (const OpSupport& s : support_table(dev)) {
    if (s.op == graph::OpKind::KvStore) {
      EXPECT_EQ(s.dtypes, (std::vector<DType>{DType::F32, DType::F16, DType::Q8_0}));
    }
    if (s.op == graph::OpKind::Silu) {
      EXPECT_EQ(s.dtypes, std::vector<DType>{DType::F32});
    }
  }
}

}  // namespace
}  // namespace autoglm::hal
