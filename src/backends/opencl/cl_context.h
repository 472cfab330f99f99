// One OpenCL device: discovery, its context and the backend's program built for it once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/opencl/cl_util.h"

namespace autoglm::opencl {

struct ClDeviceInfo {
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
  std::string name, vendor, platform_name;
  std::string version;         // "OpenCL 3.0 PoCL ..."
  std::string driver_version;  // "3.1"
  cl_device_type type = 0;
  size_t global_mem = 0;
  size_t max_work_group = 1;
  cl_uint compute_units = 1;
  bool host_unified_memory = false;
  bool correctly_rounded_div_sqrt = false;
  bool fp16 = false;  // cl_khr_fp16: half arithmetic and conversions are native
};

// Every device of every platform; empty when no ICD is installed.
std::vector<ClDeviceInfo> list_devices();

// The device the backend drives: AUTOGLM_OPENCL_DEVICE=<index into list_devices()>, else the
// first GPU, else the first device. Unavailable, with what to install, when there is none.
Result<ClDeviceInfo> pick_device();

// A device's context and compiled program. Shared by every hal::Device, buffer and stream on the
// same cl_device_id, so the program is compiled once per device per process (PoCL also keeps
// compiled kernels in its on-disk cache, ~/.cache/pocl/kcache, across processes).
class ClContext {
 public:
  static Result<std::shared_ptr<ClContext>> get(const ClDeviceInfo& info);
  ~ClContext();
  ClContext(const ClContext&) = delete;
  ClContext& operator=(const ClContext&) = delete;

  const ClDeviceInfo& info() const { return info_; }
  cl_context context() const { return context_; }
  cl_program program() const { return program_; }
  // For work outside any stream: mapping fresh buffers, releasing them.
  cl_command_queue host_queue() const { return host_queue_; }
  // A custom op's program (hal/custom_kernels.h), built on first use and kept with the context,
  // so once per device per process. An op's source never changes once registered. Unsupported
  // with the build log when the driver cannot compile it.
  Result<cl_program> custom_program(const std::string& op, const std::string& source);

 private:
  explicit ClContext(ClDeviceInfo info) : info_(std::move(info)) {}
  Status init();
  // Compiles p with the backend's options; `what` names the source in the error.
  Status build(cl_program p, const std::string& what);

  ClDeviceInfo info_;
  cl_context context_ = nullptr;
  cl_program program_ = nullptr;
  cl_command_queue host_queue_ = nullptr;
  std::mutex custom_mu_;
  std::map<std::string, cl_program> custom_programs_;  // by op name
};

}  // namespace autoglm::opencl
