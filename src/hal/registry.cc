#include "hal/registry.h"

#include <algorithm>

namespace autoglm::hal {

Registry& Registry::global() {
  static Registry r;
  return r;
}

void Registry::add(BackendEntry entry) {
  auto same = [&](const BackendEntry& e) { return e.name == entry.name; };
  backends_.erase(std::remove_if(backends_.begin(), backends_.end(), same), backends_.end());
  backends_.push_back(std::move(entry));
  std::stable_sort(
      backends_.begin(), backends_.end(),
      [](const BackendEntry& a, const BackendEntry& b) { return a.priority > b.priority; });
}

Result<std::unique_ptr<Device>> Registry::create(const std::string& name,
                                                 const DeviceOptions& opts) const {
  std::string known;
  for (const auto& b : backends_) {
    if (b.name == name) return b.create(opts);
    known += (known.empty() ? "" : ", ") + b.name;
  }
  return error(ErrorCode::NotFound, "no backend named '" + name + "' (available: " + known + ")");
}

}  // namespace autoglm::hal
