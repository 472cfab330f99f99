#include "hal/custom_kernels.h"

#include <cstdio>
#include <mutex>

namespace autoglm::hal {
namespace {

bool runnable(const HostKernel& k) {
  return static_cast<bool>(k.run);
}

bool runnable(const SourceKernel& k) {
  return !k.source.empty() && !k.entry.empty();
}

}  // namespace

CustomKernels& CustomKernels::global() {
  static CustomKernels k;
  return k;
}

template <typename K>
Status CustomKernels::add_to(Table<K>& t, std::string backend, std::string op, K k) {
  if (backend.empty() || op.empty()) {
    return error(ErrorCode::InvalidArgument, "a custom kernel needs a backend and an op name");
  }
  if (!runnable(k)) {
    return error(ErrorCode::InvalidArgument, "the " + backend + " kernel of custom op '" + op +
                                                 "' has no code (a callable, or source and entry)");
  }
  std::unique_lock lock(mu_);
  auto& ops = t[backend];
  if (ops.count(op)) {
    return error(ErrorCode::InvalidArgument, "custom op '" + op + "' already has a " + backend +
                                                 " kernel; register each kernel once");
  }
  ops.emplace(std::move(op), std::make_unique<const K>(std::move(k)));
  return {};
}

template <typename K>
const K* CustomKernels::find(const Table<K>& t, std::string_view backend,
                             std::string_view op) const {
  std::shared_lock lock(mu_);
  auto b = t.find(backend);
  if (b == t.end()) return nullptr;
  auto it = b->second.find(op);
  return it == b->second.end() ? nullptr : it->second.get();
}

Status CustomKernels::add(std::string backend, std::string op, HostKernel k) {
  return add_to(host_, std::move(backend), std::move(op), std::move(k));
}

Status CustomKernels::add(std::string backend, std::string op, SourceKernel k) {
  return add_to(source_, std::move(backend), std::move(op), std::move(k));
}

const HostKernel* CustomKernels::host(std::string_view backend, std::string_view op) const {
  return find(host_, backend, op);
}

const SourceKernel* CustomKernels::source(std::string_view backend, std::string_view op) const {
  return find(source_, backend, op);
}

bool registered_at_startup(const Status& st) {
  if (!st.ok()) std::fprintf(stderr, "warning: %s\n", st.message().c_str());
  return st.ok();
}

}  // namespace autoglm::hal
