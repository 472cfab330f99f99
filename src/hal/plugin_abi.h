// The versioned C ABI between the engine and out-of-tree backend plugins.
//
// A plugin is a shared library named libautoglm_backend_<name>.so that exports one C function,
// autoglm_plugin_entry, returning a pointer to a static AutoglmPlugin. The loader reads
// abi_version first (its offset never changes), refuses any other version, then compares the
// C++ toolchain tag. Only when both match does it call register_backends with the host's
// autoglm::hal::Registry*: from then on C++ objects (Device, Buffer, Stream, Status) cross the
// boundary, which is safe because both sides were compiled from the same hal headers by the same
// compiler and standard library.
//
// Rule for maintainers: bump AUTOGLM_PLUGIN_ABI_VERSION whenever a type a plugin sees changes
// layout or virtual methods: hal/device.h, hal/exec.h, hal/registry.h, hal/custom_kernels.h,
// graph/graph.h, graph/op.h, graph/custom_op.h, core/status.h, core/tensor_desc.h.
#ifndef AUTOGLM_HAL_PLUGIN_ABI_H_
#define AUTOGLM_HAL_PLUGIN_ABI_H_

#include <stdint.h>
#ifdef __cplusplus
#include <cstddef>  // defines the standard library's ABI macros used below
#endif

#define AUTOGLM_PLUGIN_ABI_VERSION 5u
#define AUTOGLM_PLUGIN_ENTRY_SYMBOL "autoglm_plugin_entry"

#define AUTOGLM_PLUGIN_STR_(x) #x
#define AUTOGLM_PLUGIN_STR(x) AUTOGLM_PLUGIN_STR_(x)

// Compiler and C++ standard library identity; C++ objects may cross only when both sides agree.
#if defined(__clang__)
#define AUTOGLM_PLUGIN_COMPILER "clang-" AUTOGLM_PLUGIN_STR(__clang_major__)
#elif defined(__GNUC__)
#define AUTOGLM_PLUGIN_COMPILER "gcc-" AUTOGLM_PLUGIN_STR(__GNUC__)
#else
#define AUTOGLM_PLUGIN_COMPILER "unknown"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define AUTOGLM_PLUGIN_STDLIB "libstdc++-cxx11abi" AUTOGLM_PLUGIN_STR(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define AUTOGLM_PLUGIN_STDLIB "libc++-" AUTOGLM_PLUGIN_STR(_LIBCPP_ABI_VERSION)
#else
#define AUTOGLM_PLUGIN_STDLIB "unknown"
#endif
#define AUTOGLM_PLUGIN_CXX_ABI AUTOGLM_PLUGIN_COMPILER "/" AUTOGLM_PLUGIN_STDLIB

#ifdef __cplusplus
extern "C" {
#endif

typedef struct AutoglmPlugin {
  uint32_t abi_version;  // AUTOGLM_PLUGIN_ABI_VERSION the plugin was built with; always first
  const char* name;      // backend family, e.g. "opencl"
  const char* cxx_abi;   // AUTOGLM_PLUGIN_CXX_ABI of the plugin's build
  // Adds the plugin's backends to registry, an autoglm::hal::Registry*. Each backend's factory
  // creates Devices whose supports(graph, node) is the per-op query the partitioner uses.
  void (*register_backends)(void* registry);
} AutoglmPlugin;

typedef const AutoglmPlugin* (*AutoglmPluginEntryFn)(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // AUTOGLM_HAL_PLUGIN_ABI_H_
