#include "hal/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "hal/plugin_abi.h"

namespace autoglm::hal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "libautoglm_backend_";
constexpr std::string_view kSuffix = ".so";

bool is_plugin_name(const std::string& file) {
  return file.size() > kPrefix.size() + kSuffix.size() && file.starts_with(kPrefix) &&
         file.ends_with(kSuffix);
}

PluginOutcome skipped(const std::string& path, std::string why) {
  return {path, false, "", std::move(why)};
}

}  // namespace

std::vector<std::string> plugin_search_path() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("AUTOGLM_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string entry;
    while (std::getline(ss, entry, ':')) {
      if (!entry.empty()) out.push_back(entry);
    }
  }
  out.emplace_back(AUTOGLM_PLUGIN_DIR);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path().parent_path() / "lib").string());
  return out;
}

PluginOutcome load_plugin(Registry& r, const std::string& path) {
  // RTLD_LOCAL keeps each plugin's copies of the engine's static libraries to itself. The
  // handle is never closed: devices the plugin created may live until exit.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = dlerror();
    return skipped(
        path, std::string("cannot load it as a shared library: ") + (why ? why : "unknown error"));
  }
  dlerror();
  auto entry = reinterpret_cast<AutoglmPluginEntryFn>(dlsym(h, AUTOGLM_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    dlclose(h);
    return skipped(path, std::string("it does not export ") + AUTOGLM_PLUGIN_ENTRY_SYMBOL +
                             "(); is it an autoglm backend plugin?");
  }
  const AutoglmPlugin* p = entry();
  if (!p) {
    dlclose(h);
    return skipped(path, std::string(AUTOGLM_PLUGIN_ENTRY_SYMBOL) + "() returned null");
  }
  if (p->abi_version != AUTOGLM_PLUGIN_ABI_VERSION) {
    const std::string msg = "it was built for plugin ABI version " +
                            std::to_string(p->abi_version) + " but this autoglm needs version " +
                            std::to_string(AUTOGLM_PLUGIN_ABI_VERSION) +
                            "; rebuild the plugin against this autoglm's headers";
    dlclose(h);
    return skipped(path, msg);
  }
  const std::string cxx_abi = p->cxx_abi ? p->cxx_abi : "";
  if (cxx_abi != AUTOGLM_PLUGIN_CXX_ABI) {
    dlclose(h);
    return skipped(path, "it was built with " + cxx_abi + " but this autoglm with " +
                             AUTOGLM_PLUGIN_CXX_ABI + "; rebuild it with the same compiler");
  }
  p->register_backends(&r);
  return {path, true, p->name ? p->name : "", ""};
}

std::vector<PluginOutcome> load_plugins(Registry& r, const std::vector<std::string>& entries) {
  std::vector<std::string> files;
  for (const std::string& e : entries) {
    std::error_code ec;
    if (fs::is_directory(e, ec)) {
      std::vector<std::string> found;
      for (const auto& de : fs::directory_iterator(e, ec)) {
        if (is_plugin_name(de.path().filename().string())) found.push_back(de.path().string());
      }
      std::sort(found.begin(), found.end());  // a stable load order across runs
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(e, ec) || e.ends_with(kSuffix)) {
      files.push_back(e);  // a named file that is missing is reported by load_plugin
    }
    // A directory that does not exist (e.g. an install without plugins) is not an error.
  }
  std::vector<PluginOutcome> out;
  std::set<std::string> seen;
  for (const std::string& f : files) {
    std::error_code ec;
    const fs::path canon = fs::weakly_canonical(f, ec);
    const std::string key = ec ? f : canon.string();
    if (!seen.insert(key).second) continue;
    auto earlier = std::find_if(r.plugins().begin(), r.plugins().end(),
                                [&](const PluginOutcome& o) { return o.path == key; });
    if (earlier != r.plugins().end()) {
      out.push_back(*earlier);
      continue;
    }
    PluginOutcome o = load_plugin(r, f);
    o.path = key;
    r.record_plugin(o);
    if (!o.loaded)
      std::fprintf(stderr, "warning: skipping plugin %s: %s\n", f.c_str(), o.message.c_str());
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<PluginOutcome> load_default_plugins(Registry& r) {
  return load_plugins(r, plugin_search_path());
}

}  // namespace autoglm::hal
