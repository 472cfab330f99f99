// How host pointers the executor hands out become cl_mem + offset, and the host-visible buffers
// the backend allocates.
//
// Memory design: the executor resolves every tensor to a host pointer (weights are mmap'd file
// bytes, intermediates live in one arena, KV pools are separate buffers). The backend therefore
// allocates host memory itself and wraps it with CL_MEM_USE_HOST_PTR, and wraps foreign memory
// (weights) read-only the same way, once per pointer. On host-unified devices (PoCL, integrated
// GPUs) this is zero-copy. Owned buffers stay mapped while the host may touch them and are
// unmapped around each run, which is the spec's way to hand USE_HOST_PTR memory to a device; on
// a discrete GPU the driver then copies the touched buffers at every map/unmap and caches the
// weights in VRAM, which is correct but pays PCIe traffic per step. Device-resident buffers with
// explicit copies at the cuts are the better design there and belong with the partitioner.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/opencl/cl_context.h"
#include "core/aligned.h"
#include "hal/device.h"

namespace autoglm::opencl {

// Host memory the kernels can reach.
struct Region {
  cl_mem mem = nullptr;
  uint8_t* base = nullptr;
  size_t size = 0;
  bool owned = false;   // allocated by OpenClBufferType: mapped for the host between runs
  bool mapped = false;  // owned only
};

struct DeviceRef {
  cl_mem mem = nullptr;
  uint64_t offset = 0;  // bytes from the start of mem
  Region* region = nullptr;
};

class MemoryTable {
 public:
  explicit MemoryTable(std::shared_ptr<ClContext> ctx) : ctx_(std::move(ctx)) {}
  ~MemoryTable();
  MemoryTable(const MemoryTable&) = delete;
  MemoryTable& operator=(const MemoryTable&) = delete;
  const std::shared_ptr<ClContext>& context() const { return ctx_; }

  // Registers a buffer created over base..base+size and maps it for the host.
  Status add_owned(cl_mem mem, uint8_t* base, size_t size);
  // Unmaps (if needed) and releases the owned buffer at base.
  void remove_owned(uint8_t* base);
  // The region holding [p, p + bytes). Memory not allocated here is wrapped read-only once per
  // pointer, so kernels may read it but an output there is refused.
  Result<DeviceRef> resolve(const void* p, size_t bytes, bool write);
  // Hands owned regions to the device before a run, and back to the host after it, on q.
  Status unmap(const std::vector<Region*>& regions, cl_command_queue q);
  Status map(const std::vector<Region*>& regions, cl_command_queue q);

 private:
  std::shared_ptr<ClContext> ctx_;
  std::mutex mu_;
  std::map<uintptr_t, std::unique_ptr<Region>> regions_;  // by base address
};

class OpenClBufferType : public hal::BufferType {
 public:
  // Page alignment lets drivers use the host memory in place (zero-copy).
  static constexpr size_t kMinAlignment = 4096;
  // alignment: a power of two; values below kMinAlignment are raised to it.
  OpenClBufferType(std::shared_ptr<MemoryTable> table, size_t alignment)
      : table_(std::move(table)), alignment_(std::max(alignment, kMinAlignment)) {}
  std::string name() const override { return "opencl_host_visible"; }
  size_t alignment() const override { return alignment_; }
  // Zeroed, host-visible memory that kernels read and write in place.
  Result<std::unique_ptr<hal::Buffer>> allocate(size_t bytes) override;

 private:
  std::shared_ptr<MemoryTable> table_;
  size_t alignment_;
};

}  // namespace autoglm::opencl
