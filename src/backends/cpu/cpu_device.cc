#include "backends/cpu/cpu_device.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "backends/cpu/cpu_stream.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/matmul.h"
#include "core/aligned.h"

namespace autoglm::cpu {
namespace {

class HostBuffer : public hal::Buffer {
 public:
  HostBuffer(AlignedPtr p, size_t size) : p_(std::move(p)), size_(size) {}
  void* data() override { return p_.get(); }
  size_t size() const override { return size_; }

 private:
  AlignedPtr p_;
  size_t size_;
};

class HostBufferType : public hal::BufferType {
 public:
  // The kernels' vector loads want at least kDefaultAlignment; a larger request is honoured.
  explicit HostBufferType(size_t alignment) : alignment_(std::max(alignment, kDefaultAlignment)) {}
  std::string name() const override { return "cpu_host"; }
  size_t alignment() const override { return alignment_; }
  Result<std::unique_ptr<hal::Buffer>> allocate(size_t bytes) override {
    AlignedPtr p = aligned_alloc_bytes(bytes, alignment_);
    if (!p) {
      return error(ErrorCode::ResourceExhausted,
                   "cannot allocate " + std::to_string(bytes >> 20) + " MiB of host memory");
    }
    return std::unique_ptr<hal::Buffer>(new HostBuffer(std::move(p), bytes));
  }

 private:
  size_t alignment_;
};

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

bool f32_rows(const graph::Node& n) {
  return n.dtype == DType::F32;
}

}  // namespace

CpuDevice::CpuDevice(int threads, size_t alignment)
    : pool_(threads), buffer_type_(new HostBufferType(alignment)) {}

hal::DeviceProps CpuDevice::props() const {
  hal::DeviceProps p;
  p.name = "cpu";
  p.kind = "cpu";
  p.description = cpu_model_name();
  p.memory_bytes =
      static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
  p.alignment = buffer_type_->alignment();
  p.isa = isa_name(active_isa());
  p.threads = pool_.size();
  return p;
}

bool CpuDevice::supports(const graph::Graph& g, const graph::Node& n) const {
  using graph::OpKind;
  switch (n.op) {
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return true;  // memory only
    case OpKind::RmsNorm:
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::Silu:
    case OpKind::Softmax:
    case OpKind::Rope:
    case OpKind::RmsNormMul:
    case OpKind::SwiGlu:
      return f32_rows(n);
    case OpKind::GetRows:
      return matmul_supports(g.node(n.inputs[0]).dtype);
    case OpKind::MatMul:
      return matmul_supports(g.node(n.inputs[0]).dtype);
    case OpKind::KvStore:
      return n.dtype == DType::F32 || n.dtype == DType::F16;
    case OpKind::Attention:
      return f32_rows(n) && n.params.head_dim <= 512 &&
             (g.node(n.inputs[1]).dtype == DType::F32 ||
              g.node(n.inputs[1]).dtype == DType::F16);  // kernel stack buffer
  }
  return false;
}

hal::BufferType& CpuDevice::buffer_type() {
  return *buffer_type_;
}

std::unique_ptr<hal::Stream> CpuDevice::create_stream() {
  return std::make_unique<CpuStream>(pool_);
}

void register_cpu_backend(hal::Registry& r) {
  r.add({"cpu", 0, [](const hal::DeviceOptions& o) -> Result<std::unique_ptr<hal::Device>> {
           return std::unique_ptr<hal::Device>(new CpuDevice(o.threads, o.alignment));
         }});
}

}  // namespace autoglm::cpu
