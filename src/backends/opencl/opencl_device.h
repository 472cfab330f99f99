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
  // schedules the work-items. Custom ops run with the "opencl" kernels of `custom` (the host's
  // table, which must outlive the device).
  static Result<std::unique_ptr<hal::Device>> create(const hal::DeviceOptions& opts,
                                                     const hal::CustomKernels& custom);

  hal::DeviceProps props() const override;
  // Op, dtypes and the shape limits of the kernels; a custom op when it has an "opencl" kernel.
  // Ops named in AUTOGLM_OPENCL_DISABLE_OPS (comma-separated op names, Custom for every custom
  // op; for testing fallbacks) are refused.
  bool supports(const graph::Graph& g, const graph::Node& n) const override;
  hal::BufferType& buffer_type() override { return buffer_type_; }
  std::unique_ptr<hal::Stream> create_stream() override;

 private:
  OpenClDevice(std::shared_ptr<ClContext> ctx, size_t alignment, std::set<graph::OpKind> disabled,
               const hal::CustomKernels& custom);

  std::shared_ptr<ClContext> ctx_;
  std::shared_ptr<MemoryTable> table_;
  OpenClBufferType buffer_type_;
  std::set<graph::OpKind> disabled_;
  const hal::CustomKernels& custom_;
};

// Adds "opencl" to the registry; creating it fails with Unavailable when no device is present.
// Its devices take custom kernels from r.custom_kernels(), the host's table.
void register_opencl_backend(hal::Registry& r);

}  // namespace autoglm::opencl
