#include "backends/opencl/cl_memory.h"

#include <algorithm>
#include <cstring>

namespace autoglm::opencl {
namespace {

class OpenClBuffer : public hal::Buffer {
 public:
  OpenClBuffer(std::shared_ptr<MemoryTable> table, AlignedPtr host, size_t size)
      : table_(std::move(table)), host_(std::move(host)), size_(size) {}
  ~OpenClBuffer() override { table_->remove_owned(static_cast<uint8_t*>(host_.get())); }
  void* data() override { return host_.get(); }
  size_t size() const override { return size_; }

 private:
  std::shared_ptr<MemoryTable> table_;
  AlignedPtr host_;  // released after the table let go of the cl_mem over it
  size_t size_;
};

}  // namespace

MemoryTable::~MemoryTable() {
  for (auto& [base, r] : regions_) clReleaseMemObject(r->mem);  // foreign wrappers
}

Status MemoryTable::add_owned(cl_mem mem, uint8_t* base, size_t size) {
  cl_int err = CL_SUCCESS;
  void* p = clEnqueueMapBuffer(ctx_->host_queue(), mem, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                               size, 0, nullptr, nullptr, &err);
  AUTOGLM_CL_CHECK(err, "clEnqueueMapBuffer");
  if (p != base) {
    return error(ErrorCode::Internal,
                 "the OpenCL driver mapped a CL_MEM_USE_HOST_PTR buffer at another address");
  }
  auto r = std::make_unique<Region>(Region{mem, base, size, true, true});
  std::lock_guard<std::mutex> lock(mu_);
  regions_[reinterpret_cast<uintptr_t>(base)] = std::move(r);
  return {};
}

void MemoryTable::remove_owned(uint8_t* base) {
  std::unique_ptr<Region> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = regions_.find(reinterpret_cast<uintptr_t>(base));
    if (it == regions_.end()) return;
    r = std::move(it->second);
    regions_.erase(it);
  }
  if (r->mapped) clEnqueueUnmapMemObject(ctx_->host_queue(), r->mem, r->base, 0, nullptr, nullptr);
  clFinish(ctx_->host_queue());
  clReleaseMemObject(r->mem);
}

Result<DeviceRef> MemoryTable::resolve(const void* p, size_t bytes, bool write) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = regions_.upper_bound(addr);
  if (it != regions_.begin()) {
    Region* r = std::prev(it)->second.get();
    const auto base = reinterpret_cast<uintptr_t>(r->base);
    if (addr + bytes <= base + r->size) {
      if (write && !r->owned) {
        return error(ErrorCode::Internal,
                     "an OpenCL kernel output is not in memory from the OpenCL buffer type");
      }
      return DeviceRef{r->mem, addr - base, r};
    }
  }
  if (write) {
    return error(ErrorCode::Internal,
                 "an OpenCL kernel output is not in memory from the OpenCL buffer type");
  }
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(ctx_->context(), CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, bytes,
                              const_cast<void*>(p), &err);
  AUTOGLM_CL_CHECK(err, "clCreateBuffer(CL_MEM_USE_HOST_PTR) over " + std::to_string(bytes) +
                            " bytes of model memory");
  auto r = std::make_unique<Region>(
      Region{mem, static_cast<uint8_t*>(const_cast<void*>(p)), bytes, false, false});
  Region* raw = r.get();
  std::unique_ptr<Region>& slot = regions_[addr];
  // A smaller wrapper at the same address is replaced; the driver frees it once queued kernels
  // that use it have finished.
  if (slot) clReleaseMemObject(slot->mem);
  slot = std::move(r);
  return DeviceRef{mem, 0, raw};
}

Status MemoryTable::unmap(const std::vector<Region*>& regions, cl_command_queue q) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Region* r : regions) {
    if (!r->mapped) continue;
    AUTOGLM_CL_CHECK(clEnqueueUnmapMemObject(q, r->mem, r->base, 0, nullptr, nullptr),
                     "clEnqueueUnmapMemObject");
    r->mapped = false;
  }
  return {};
}

Status MemoryTable::map(const std::vector<Region*>& regions, cl_command_queue q) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Region* r : regions) {
    if (r->mapped) continue;
    cl_int err = CL_SUCCESS;
    void* p = clEnqueueMapBuffer(q, r->mem, CL_FALSE, CL_MAP_READ | CL_MAP_WRITE, 0, r->size, 0,
                                 nullptr, nullptr, &err);
    AUTOGLM_CL_CHECK(err, "clEnqueueMapBuffer");
    if (p != r->base) {
      return error(ErrorCode::Internal,
                   "the OpenCL driver mapped a CL_MEM_USE_HOST_PTR buffer at another address");
    }
    r->mapped = true;
  }
  return {};
}

Result<std::unique_ptr<hal::Buffer>> OpenClBufferType::allocate(size_t bytes) {
  const size_t size =
      std::max<size_t>((bytes + alignment_ - 1) / alignment_ * alignment_, alignment_);
  AlignedPtr host = aligned_alloc_bytes(size, alignment_);
  if (!host) {
    return error(ErrorCode::ResourceExhausted, "cannot allocate " + std::to_string(size >> 20) +
                                                   " MiB of host memory for OpenCL");
  }
  std::memset(host.get(), 0, size);
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(table_->context()->context(), CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR,
                              size, host.get(), &err);
  AUTOGLM_CL_CHECK(err, "clCreateBuffer of " + std::to_string(size) + " bytes");
  const Status st = table_->add_owned(mem, static_cast<uint8_t*>(host.get()), size);
  if (!st.ok()) {
    clReleaseMemObject(mem);
    return st;
  }
  return std::unique_ptr<hal::Buffer>(new OpenClBuffer(table_, std::move(host), bytes));
}

}  // namespace autoglm::opencl
