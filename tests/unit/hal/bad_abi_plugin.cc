// A test-only plugin that claims a future ABI version: the loader must refuse it without
// calling register_backends (which aborts, so a wrong acceptance crashes the test).
#include <cstdlib>

#include "hal/plugin_abi.h"

namespace {

void register_backends(void*) {
  std::abort();
}

constexpr AutoglmPlugin kPlugin = {AUTOGLM_PLUGIN_ABI_VERSION + 1, "bad_abi",
                                   AUTOGLM_PLUGIN_CXX_ABI, &register_backends};

}  // namespace

extern "C" __attribute__((visibility("default"))) const AutoglmPlugin* autoglm_plugin_entry() {
  return &kPlugin;
}
