// The device registry: backends register a factory; the runtime asks for devices by name or
// in priority order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hal/custom_kernels.h"
#include "hal/device.h"

namespace autoglm::hal {

struct DeviceOptions {
  int threads = 0;       // 0: physical cores
  size_t alignment = 0;  // minimum buffer alignment in bytes (a power of two); 0: the device's
  bool int8_block_sums = false;  // precision int8, where DeviceProps::int8_block_sums
};

using DeviceFactory = std::function<Result<std::unique_ptr<Device>>(const DeviceOptions&)>;

struct BackendEntry {
  std::string name;
  int priority = 0;  // higher is preferred when placing ops
  DeviceFactory create;
};

// What happened to one plugin file offered to a registry (hal/plugin_loader.h).
struct PluginOutcome {
  std::string path;
  bool loaded = false;
  std::string name;     // the plugin's backend family when loaded
  std::string message;  // why it was skipped
};

class Registry {
 public:
  static Registry& global();
  void add(BackendEntry entry);
  const std::vector<BackendEntry>& backends() const { return backends_; }
  // NotFound lists the registered backend names.
  Result<std::unique_ptr<Device>> create(const std::string& name, const DeviceOptions& opts) const;
  // Every plugin file offered to this registry, by canonical path, so loading twice is a no-op.
  void record_plugin(PluginOutcome o) { plugins_.push_back(std::move(o)); }
  const std::vector<PluginOutcome>& plugins() const { return plugins_; }
  // The host's custom-op kernels. Plugins must read them here: their own copy of
  // CustomKernels::global() is a different, empty table. Inline, so a plugin calling it reads
  // the pointer the host stored.
  CustomKernels& custom_kernels() const { return *custom_kernels_; }

 private:
  std::vector<BackendEntry> backends_;
  std::vector<PluginOutcome> plugins_;
  // Set by the constructor, which runs in the host (registries are made there).
  CustomKernels* custom_kernels_ = &CustomKernels::global();
};

}  // namespace autoglm::hal
