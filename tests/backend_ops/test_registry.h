// The registry the conformance tests run on: the CPU backend plus every plugin the build made,
// loaded once per test process (independent of hal::Registry::global()).
#pragma once

#include "hal/registry.h"

namespace autoglm::testing {

hal::Registry& all_backends();

}  // namespace autoglm::testing
