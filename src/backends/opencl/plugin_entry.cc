// The OpenCL backend's plugin entry point (hal/plugin_abi.h).
#include "backends/opencl/opencl_device.h"
#include "hal/plugin_abi.h"

namespace {

void register_backends(void* registry) {
  autoglm::opencl::register_opencl_backend(*static_cast<autoglm::hal::Registry*>(registry));
}

constexpr AutoglmPlugin kPlugin = {AUTOGLM_PLUGIN_ABI_VERSION, "opencl", AUTOGLM_PLUGIN_CXX_ABI,
                                   &register_backends};

}  // namespace

extern "C" __attribute__((visibility("default"))) const AutoglmPlugin* autoglm_plugin_entry() {
  return &kPlugin;
}
