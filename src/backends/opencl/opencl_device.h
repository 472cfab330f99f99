// The OpenCL device: one cl_device_id behind the hal interface, built as a plugin.
#pragma once

#include <memory>
#include <set>

#include "backends/opencl/cl_context.h"
#include "backends/opencl/cl_memory.h"
#include "hal/device.h"
#include "hal/registry.h"

namespace autoglm::opencl {

class OpenClDevice : public hal::Device {
 public:
  // Buffers honour opts.alignment (at least a page); opts.threads does not apply, the driver
  // schedules the work-items.
  static Result<std::unique_ptr<hal::Device>> create(const hal::DeviceOptions& opts);

  hal::DeviceProps props() const override;
  // Op, dtypes and the shape limits of the kernels; ops named in AUTOGLM_OPENCL_DISABLE_OPS
  // (comma-separated op names, for testing fallbacks) are refused.
  bool supports(const graph::Graph& g, const graph::Node& n) const override;
  hal::BufferType& buffer_type() override { return buffer_type_; }
  std::unique_ptr<hal::Stream> create_stream() override;

 private:
  OpenClDevice(std::shared_ptr<ClContext> ctx, size_t alignment, std::set<graph::OpKind> disabled);

  std::shared_ptr<ClContext> ctx_;
  std::shared_ptr<MemoryTable> table_;
  OpenClBufferType buffer_type_;
  std::set<graph::OpKind> disabled_;
};

// Adds "opencl" to the registry; creating it fails with Unavailable when no device is present.
void register_opencl_backend(hal::Registry& r);

}  // namespace autoglm::opencl
