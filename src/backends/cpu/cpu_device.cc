#include "backends/cpu/cpu_device.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "backends/cpu/cpu_stream.h"
#include "backends/cpu/kernels/isa.h"
#include "backends/cpu/kernels/matmul.h"
#include "core/aligned.h"
#include "graph/custom_op.h"
#include "hal/custom_kernels.h"

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

// Why f16 is the CPU's preferred KV type, and what the hardware offers that the kernels do not.
std::string precision_note(Isa isa) {
  std::string note = "f16 halves KV memory and bandwidth; ";
  note += has_avx2(isa) || has_neon(isa) ? "the CPU converts f16 in hardware"
                                         : "converted in software at this ISA level";
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512bf16")) {
    note += "; AVX512-BF16 is present (used for bf16 weights) but no kernel stores a bf16 KV";
  }
#endif
  return note;
}

// KV cache types the store and attention kernels handle; a Q8_0 row (or head slice) must be
// whole blocks.
bool kv_cache_type(DType t, int64_t elems) {
  return t == DType::F32 || t == DType::F16 || (t == DType::Q8_0 && elems % kQK8_0 == 0);
}

}  // namespace

CpuDevice::CpuDevice(int threads, size_t alignment, bool block_sums)
    : pool_(threads), buffer_type_(new HostBufferType(alignment)), block_sums_(block_sums) {}

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
  p.preferred_kv = DType::F16;
  p.precision_note = precision_note(active_isa());
  p.int8_block_sums = packed_matmul_available();
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
    case OpKind::RopeKvStore:
      return kv_cache_type(n.dtype, n.shape.dims[0].value);
    case OpKind::Attention:
    case OpKind::RopeAttention:
      return f32_rows(n) && n.params.head_dim <= 512 &&  // kernel stack buffer
             g.node(n.inputs[1]).dtype == g.node(n.inputs[2]).dtype &&
             kv_cache_type(g.node(n.inputs[1]).dtype, n.params.head_dim);
    case OpKind::Custom:
      // Built in, so the host's table is this library's own.
      return n.params.custom &&
             hal::CustomKernels::global().host("cpu", n.params.custom->name) != nullptr;
  }
  return false;
}

hal::BufferType& CpuDevice::buffer_type() {
  return *buffer_type_;
}

std::unique_ptr<hal::Stream> CpuDevice::create_stream() {
  return std::make_unique<CpuStream>(pool_, block_sums_ ? SumOrder::Blocks : SumOrder::Lanes);
}

void register_cpu_backend(hal::Registry& r) {
  r.add({"cpu", 0, [](const hal::DeviceOptions& o) -> Result<std::unique_ptr<hal::Device>> {
           return std::unique_ptr<hal::Device>(
               new CpuDevice(o.threads, o.alignment, o.int8_block_sums));
         }});
}

}  // namespace autoglm::cpu
