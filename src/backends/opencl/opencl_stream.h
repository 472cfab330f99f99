// Runs splits on one OpenCL in-order queue: resolves tensors to buffers, enqueues one or two
// kernels per node, and hands the touched host-visible buffers to the device for the run.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/opencl/cl_memory.h"
#include "hal/custom_kernels.h"
#include "hal/device.h"

namespace autoglm::opencl {

class OpenClStream : public hal::Stream {
 public:
  OpenClStream(std::shared_ptr<ClContext> ctx, std::shared_ptr<MemoryTable> table,
               const hal::CustomKernels& custom);
  ~OpenClStream() override;
  OpenClStream(const OpenClStream&) = delete;
  OpenClStream& operator=(const OpenClStream&) = delete;

  // Enqueues the split; returns before the kernels finish.
  Status compute(const hal::SplitExec& split) override;
  // Waits for the queue; the host may then read every buffer again.
  void synchronize() override;

 private:
  struct Resolved {
    const hal::NodeExec* ne;
    DeviceRef out;
    std::vector<DeviceRef> in;  // mem null for an absent optional input
  };
  Result<Resolved> resolve(const hal::NodeExec& ne, std::vector<Region*>& touched);
  // Host-side checks while inputs are still host-visible; grows the attention scratch.
  Status check_inputs(const hal::NodeExec& ne);
  Status enqueue(const Resolved& r);
  Result<cl_kernel> kernel(const char* name);
  // A custom op's kernel from its own program (ClContext::custom_program).
  Result<cl_kernel> custom_kernel(const std::string& op, const hal::SourceKernel& k);
  Status enqueue_custom(const Resolved& r);
  Status launch(cl_kernel k, const char* name, std::initializer_list<size_t> global,
                size_t local = 0);
  // Device-only scratch grown on demand: quantized activations, attention scores.
  Status reserve(cl_mem& buf, size_t& have, size_t bytes);

  std::shared_ptr<ClContext> ctx_;
  std::shared_ptr<MemoryTable> table_;
  const hal::CustomKernels& custom_;
  cl_command_queue queue_ = nullptr;
  std::map<std::string, cl_kernel> kernels_;  // custom ops' under "custom:<op>"
  size_t row_local_ = 1;  // work-group size of the row-reduction kernels (a power of two)
  cl_mem act_ = nullptr;
  size_t act_bytes_ = 0;
  cl_mem scores_ = nullptr;
  size_t scores_bytes_ = 0;
  int64_t max_positions_ = 0;  // of the attention nodes of the split being enqueued
  Status pending_;             // a failure from synchronize, reported by the next compute
};

}  // namespace autoglm::opencl
