// The device registry: backends register a factory; the runtime asks for devices by name or
// in priority order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hal/device.h"

namespace autoglm::hal {

struct DeviceOptions {
  int threads = 0;       // 0: physical cores
  size_t alignment = 0;  // minimum buffer alignment in bytes (a power of two); 0: the device's
};

using DeviceFactory = std::function<Result<std::unique_ptr<Device>>(const DeviceOptions&)>;

struct BackendEntry {
  std::string name;
  int priority = 0;  // higher is preferred when placing ops
  DeviceFactory create;
};

class Registry {
 public:
  static Registry& global();
  void add(BackendEntry entry);
  const std::vector<BackendEntry>& backends() const { return backends_; }
  // NotFound lists the registered backend names.
  Result<std::unique_ptr<Device>> create(const std::string& name, const DeviceOptions& opts) const;

 private:
  std::vector<BackendEntry> backends_;
};

}  // namespace autoglm::hal
