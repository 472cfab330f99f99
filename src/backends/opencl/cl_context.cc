#include "backends/opencl/cl_context.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "backends/opencl/kernel_source.h"

namespace autoglm::opencl {
namespace {

std::string device_string(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  clGetDeviceInfo(d, what, n, s.data(), nullptr);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

template <typename T>
T device_value(cl_device_id d, cl_device_info what) {
  T v{};
  clGetDeviceInfo(d, what, sizeof(T), &v, nullptr);
  return v;
}

std::string platform_name(cl_platform_id p) {
  size_t n = 0;
  if (clGetPlatformInfo(p, CL_PLATFORM_NAME, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  clGetPlatformInfo(p, CL_PLATFORM_NAME, n, s.data(), nullptr);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace

std::vector<ClDeviceInfo> list_devices() {
  std::vector<ClDeviceInfo> out;
  cl_uint n_platforms = 0;
  if (clGetPlatformIDs(0, nullptr, &n_platforms) != CL_SUCCESS || n_platforms == 0) return out;
  std::vector<cl_platform_id> platforms(n_platforms);
  clGetPlatformIDs(n_platforms, platforms.data(), nullptr);
  for (cl_platform_id p : platforms) {
    cl_uint n = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) continue;
    std::vector<cl_device_id> ids(n);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, ids.data(), nullptr);
    for (cl_device_id d : ids) {
      ClDeviceInfo i;
      i.platform = p;
      i.id = d;
      i.name = device_string(d, CL_DEVICE_NAME);
      i.vendor = device_string(d, CL_DEVICE_VENDOR);
      i.platform_name = platform_name(p);
      i.version = device_string(d, CL_DEVICE_VERSION);
      i.driver_version = device_string(d, CL_DRIVER_VERSION);
      i.type = device_value<cl_device_type>(d, CL_DEVICE_TYPE);
      i.global_mem = static_cast<size_t>(device_value<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE));
      i.max_work_group = device_value<size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE);
      i.compute_units = device_value<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS);
      i.host_unified_memory = device_value<cl_bool>(d, CL_DEVICE_HOST_UNIFIED_MEMORY) == CL_TRUE;
      i.correctly_rounded_div_sqrt =
          (device_value<cl_device_fp_config>(d, CL_DEVICE_SINGLE_FP_CONFIG) &
           CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
      i.fp16 = (" " + device_string(d, CL_DEVICE_EXTENSIONS) + " ").find(" cl_khr_fp16 ") !=
               std::string::npos;
      out.push_back(std::move(i));
    }
  }
  return out;
}

Result<ClDeviceInfo> pick_device() {
  std::vector<ClDeviceInfo> all = list_devices();
  if (all.empty()) {
    return error(ErrorCode::Unavailable,
                 "no OpenCL device found; install a driver (ICD), e.g. `apt install "
                 "pocl-opencl-icd` for CPUs, and check `clinfo -l`");
  }
  if (const char* env = std::getenv("AUTOGLM_OPENCL_DEVICE")) {
    char* end = nullptr;
    const long i = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || i < 0 || i >= static_cast<long>(all.size())) {
      return error(ErrorCode::InvalidArgument,
                   "AUTOGLM_OPENCL_DEVICE=" + std::string(env) + " is not a device index in [0, " +
                       std::to_string(all.size()) + "); `autoglm devices` lists them");
    }
    return all[static_cast<size_t>(i)];
  }
  for (const ClDeviceInfo& d : all) {
    if (d.type & CL_DEVICE_TYPE_GPU) return d;
  }
  return all.front();
}

Result<std::shared_ptr<ClContext>> ClContext::get(const ClDeviceInfo& info) {
  static std::mutex mu;
  static std::map<cl_device_id, std::weak_ptr<ClContext>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto live = cache[info.id].lock()) return live;
  std::shared_ptr<ClContext> c(new ClContext(info));
  AUTOGLM_RETURN_IF_ERROR(c->init());
  cache[info.id] = c;
  return c;
}

Status ClContext::init() {
  cl_int err = CL_SUCCESS;
  const cl_context_properties props[] = {
      CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(info_.platform), 0};
  context_ = clCreateContext(props, 1, &info_.id, nullptr, nullptr, &err);
  AUTOGLM_CL_CHECK(err, "clCreateContext on '" + info_.name + "'");
  host_queue_ = clCreateCommandQueue(context_, info_.id, 0, &err);
  AUTOGLM_CL_CHECK(err, "clCreateCommandQueue");
  const char* src = kernel_source();
  program_ = clCreateProgramWithSource(context_, 1, &src, nullptr, &err);
  AUTOGLM_CL_CHECK(err, "clCreateProgramWithSource");
  return build(program_, "autoglm's kernels");
}

Status ClContext::build(cl_program p, const std::string& what) {
  // Correct rounding keeps the activation quantizer's 127/amax identical to the CPU's.
  std::string opts = "-cl-std=CL1.2";
  if (info_.correctly_rounded_div_sqrt) opts += " -cl-fp32-correctly-rounded-divide-sqrt";
  const cl_int err = clBuildProgram(p, 1, &info_.id, opts.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    size_t n = 0;
    clGetProgramBuildInfo(p, info_.id, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
    std::string log(n, '\0');
    clGetProgramBuildInfo(p, info_.id, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
    return error(ErrorCode::Unsupported, "the OpenCL driver of '" + info_.name +
                                             "' cannot compile " + what + " (" +
                                             cl_error_name(err) + "):\n" + log);
  }
  return {};
}

Result<cl_program> ClContext::custom_program(const std::string& op, const std::string& source) {
  std::lock_guard<std::mutex> lock(custom_mu_);
  if (auto it = custom_programs_.find(op); it != custom_programs_.end()) return it->second;
  cl_int err = CL_SUCCESS;
  const char* src = source.c_str();
  cl_program p = clCreateProgramWithSource(context_, 1, &src, nullptr, &err);
  AUTOGLM_CL_CHECK(err, "clCreateProgramWithSource for custom op '" + op + "'");
  if (Status st = build(p, "the kernel of custom op '" + op + "'"); !st.ok()) {
    clReleaseProgram(p);
    return st;
  }
  custom_programs_.emplace(op, p);
  return p;
}

ClContext::~ClContext() {
  for (auto& [op, p] : custom_programs_) clReleaseProgram(p);
  if (program_) clReleaseProgram(program_);
  if (host_queue_) clReleaseCommandQueue(host_queue_);
  if (context_) clReleaseContext(context_);
}

}  // namespace autoglm::opencl
