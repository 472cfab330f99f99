// The CPU device: the reference backend every other backend is tested against.
#pragma once

#include <memory>

#include "core/thread_pool.h"
#include "hal/device.h"
#include "hal/registry.h"

namespace autoglm::cpu {

class CpuDevice : public hal::Device {
 public:
  // alignment: minimum for buffers (0: the kernels' default); block_sums: precision int8 (the
  // packed kernels in SumOrder::Blocks).
  explicit CpuDevice(int threads, size_t alignment = 0, bool block_sums = false);
  hal::DeviceProps props() const override;
  bool supports(const graph::Graph& g, const graph::Node& n) const override;
  hal::BufferType& buffer_type() override;
  std::unique_ptr<hal::Stream> create_stream() override;

 private:
  ThreadPool pool_;
  std::unique_ptr<hal::BufferType> buffer_type_;
  bool block_sums_;
};

// Adds "cpu" to the registry (called by the runtime at startup; static libraries would drop a
// self-registering global).
void register_cpu_backend(hal::Registry& r);

}  // namespace autoglm::cpu
