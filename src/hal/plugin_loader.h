// Finds and loads backend plugins (shared libraries speaking hal/plugin_abi.h) into a registry.
// A file that is missing, not a shared library, lacks the entry symbol or has another ABI version
// is skipped with a warning; it never stops the other backends from loading.
#pragma once

#include <string>
#include <vector>

#include "hal/registry.h"

namespace autoglm::hal {

// Where plugins are looked for: the entries of $AUTOGLM_PLUGIN_PATH (colon-separated
// directories or files), then the build's own plugin directory, then <executable dir>/../lib.
std::vector<std::string> plugin_search_path();

// Loads one plugin file. Never throws or aborts: failures come back as an outcome.
PluginOutcome load_plugin(Registry& r, const std::string& path);

// Loads every libautoglm_backend_*.so found in the entries (a directory is scanned, a file is
// loaded as is). Each file is offered to a registry once (r.plugins() records it; a repeat
// returns the recorded outcome silently); skipped files print "warning: ..." to stderr.
std::vector<PluginOutcome> load_plugins(Registry& r, const std::vector<std::string>& entries);

// load_plugins(r, plugin_search_path()).
std::vector<PluginOutcome> load_default_plugins(Registry& r);

}  // namespace autoglm::hal
