#include "test_registry.h"

#include "backends/cpu/cpu_device.h"
#include "hal/plugin_loader.h"

namespace autoglm::testing {

hal::Registry& all_backends() {
  static hal::Registry* r = [] {
    auto* reg = new hal::Registry();
    cpu::register_cpu_backend(*reg);
    hal::load_default_plugins(*reg);
    return reg;
  }();
  return *r;
}

}  // namespace autoglm::testing
