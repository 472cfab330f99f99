// Kernels for custom ops (graph/custom_op.h), per backend and op name. A device supports a
// Custom node exactly when its backend has a kernel registered under the op's name here.
//
// One table per process (CustomKernels::global()). The built-in CPU backend reads it directly;
// a plugin has its own private copy of this library, so it must read the host's table through
// the Registry it is handed (Registry::custom_kernels()), never through global().
//
//   REGISTER_OPERATOR_CPU("scaled_add", [](const hal::NodeExec& ne, int ith, int nth) { ... });
//   REGISTER_OPERATOR_OPENCL("scaled_add", {kSource, "scaled_add"});
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "hal/exec.h"

namespace autoglm::hal {

// Runs on host memory: computes part ith of nth of the output. The backend calls every part
// exactly once per node, concurrently on its thread pool, so parts must write disjoint bytes.
// Inputs were checked by the op's shape rule.
struct HostKernel {
  std::function<void(const NodeExec& ne, int ith, int nth)> run;
};

// Source a device backend compiles once per device (OpenCL C for "opencl"). The entry point
// takes, in order: each input then the output as (global [const] uchar* base, ulong offset in
// bytes), then the scalars.
struct SourceKernel {
  std::string source;
  std::string entry;
  // Global work size, 1 to 3 dimensions; unset: one work-item per output element.
  std::function<std::vector<size_t>(const NodeExec&)> global_size;
  // Scalar arguments after the tensors, e.g. the row length or params.scale; unset: none.
  using Scalar = std::variant<int32_t, int64_t, float>;
  std::function<std::vector<Scalar>(const NodeExec&)> scalars;
};

class CustomKernels {
 public:
  // The process's table: registration macros and the built-in backends use it.
  static CustomKernels& global();

  // InvalidArgument when backend or op is empty, the kernel has nothing to run, or this
  // backend already has a kernel for op (a kernel never changes under a running plan).
  Status add(std::string backend, std::string op, HostKernel k);
  Status add(std::string backend, std::string op, SourceKernel k);

  // The kernel, or null. Pointers stay valid until exit.
  const HostKernel* host(std::string_view backend, std::string_view op) const;
  const SourceKernel* source(std::string_view backend, std::string_view op) const;

 private:
  // backend → op → kernel; unique_ptr keeps kernels in place as the maps grow.
  template <typename K>
  using Table = std::map<std::string, std::map<std::string, std::unique_ptr<const K>, std::less<>>,
                         std::less<>>;
  template <typename K>
  Status add_to(Table<K>& t, std::string backend, std::string op, K k);
  template <typename K>
  const K* find(const Table<K>& t, std::string_view backend, std::string_view op) const;

  mutable std::shared_mutex mu_;
  Table<HostKernel> host_;
  Table<SourceKernel> source_;
};

// For the registration macros: prints a warning naming the failure when st is an error.
bool registered_at_startup(const Status& st);

}  // namespace autoglm::hal

// Registers a kernel with the process's table while static objects are initialized. Place it in
// the executable (or a library linked whole): a linker drops unreferenced objects of a static
// library, registration included.
#define AUTOGLM_REGISTER_KERNEL_(backend, op, ...)                                         \
  [[maybe_unused]] static const bool AUTOGLM_CONCAT(autoglm_custom_kernel_, __COUNTER__) = \
      ::autoglm::hal::registered_at_startup(                                               \
          ::autoglm::hal::CustomKernels::global().add(backend, op, __VA_ARGS__))
// REGISTER_OPERATOR_CPU(op, callable): a HostKernel for the "cpu" backend.
#define REGISTER_OPERATOR_CPU(op, ...) \
  AUTOGLM_REGISTER_KERNEL_("cpu", op, ::autoglm::hal::HostKernel{__VA_ARGS__})
// REGISTER_OPERATOR_OPENCL(op, {source, entry[, global_size[, scalars]]}): a SourceKernel for
// the "opencl" backend.
#define REGISTER_OPERATOR_OPENCL(op, ...) \
  AUTOGLM_REGISTER_KERNEL_("opencl", op, ::autoglm::hal::SourceKernel __VA_ARGS__)
