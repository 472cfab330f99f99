#include "backends/opencl/opencl_device.h"

#include <cstdlib>
#include <sstream>

#include "backends/opencl/opencl_stream.h"
#include "graph/custom_op.h"

namespace autoglm::opencl {
namespace {

using graph::OpKind;

// Largest head the attention kernel keeps in local memory.
constexpr int kMaxHeadDim = 1024;

bool is_f32(const graph::Graph& g, graph::NodeId id) {
  return g.node(id).dtype == DType::F32;
}

bool matmul_weight(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::Q4_0 || t == DType::Q4_1 ||
         t == DType::Q8_0;
}

bool row_type(DType t) {
  return matmul_weight(t) || t == DType::BF16;
}

// Quantized rows must hold whole 32-element blocks.
bool whole_blocks(DType t, const graph::Dim& row) {
  return !dtype_info(t).quantized || (!row.is_symbolic() && row.value % 32 == 0);
}

std::set<OpKind> disabled_ops() {
  std::set<OpKind> out;
  const char* env = std::getenv("AUTOGLM_OPENCL_DISABLE_OPS");
  if (!env) return out;
  std::stringstream ss(env);
  std::string name;
  while (std::getline(ss, name, ',')) {
    for (int k = 0; k <= static_cast<int>(OpKind::Custom); ++k) {
      if (graph::op_name(static_cast<OpKind>(k)) == name) out.insert(static_cast<OpKind>(k));
    }
  }
  return out;
}

}  // namespace

OpenClDevice::OpenClDevice(std::shared_ptr<ClContext> ctx, size_t alignment,
                           std::set<OpKind> disabled, const hal::CustomKernels& custom)
    : ctx_(ctx),
      table_(std::make_shared<MemoryTable>(ctx)),
      buffer_type_(table_, alignment),
      disabled_(std::move(disabled)),
      custom_(custom) {}

Result<std::unique_ptr<hal::Device>> OpenClDevice::create(const hal::DeviceOptions& opts,
                                                          const hal::CustomKernels& custom) {
  AUTOGLM_ASSIGN_OR_RETURN(ClDeviceInfo info, pick_device());
  AUTOGLM_ASSIGN_OR_RETURN(auto ctx, ClContext::get(info));
  return std::unique_ptr<hal::Device>(
      new OpenClDevice(std::move(ctx), opts.alignment, disabled_ops(), custom));
}

hal::DeviceProps OpenClDevice::props() const {
  const ClDeviceInfo& i = ctx_->info();
  hal::DeviceProps p;
  p.name = "opencl";
  p.kind = (i.type & CL_DEVICE_TYPE_GPU)           ? "gpu"
           : (i.type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
                                                   : "cpu";
  p.description = i.name + " (" + i.platform_name + ", " + i.vendor + ")";
  p.memory_bytes = i.global_mem;
  p.alignment = buffer_type_.alignment();
  p.isa = i.version + ", driver " + i.driver_version;
  p.threads = static_cast<int>(i.compute_units);
  // The kernels store f16 with vstore_half/vload_half, core in OpenCL 1.2, so every device can
  // hold an f16 cache: half the KV memory and bandwidth of f32, and the CPU's rounding.
  p.preferred_kv = DType::F16;
  p.precision_note = i.fp16 ? "f16 KV (cl_khr_fp16: native conversions): half the memory of f32"
                            : "f16 KV through core vload_half/vstore_half (no cl_khr_fp16 needed): "
                              "half the memory of f32";
  return p;
}

bool OpenClDevice::supports(const graph::Graph& g, const graph::Node& n) const {
  if (disabled_.count(n.op)) return false;
  const auto in = [&](size_t i) -> const graph::Node& { return g.node(n.inputs[i]); };
  switch (n.op) {
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return true;  // memory only
    case OpKind::RmsNorm:
    case OpKind::Silu:
    case OpKind::Softmax:
      return n.dtype == DType::F32 && is_f32(g, n.inputs[0]);
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::RmsNormMul:
    case OpKind::SwiGlu:
      return n.dtype == DType::F32 && is_f32(g, n.inputs[0]) && is_f32(g, n.inputs[1]);
    case OpKind::Rope:
      return n.dtype == DType::F32 && is_f32(g, n.inputs[0]) && n.params.n_rot % 2 == 0 &&
             (n.inputs.size() < 3 || n.inputs[2] < 0 || is_f32(g, n.inputs[2]));
    case OpKind::GetRows:
      return n.dtype == DType::F32 && row_type(in(0).dtype) &&
             whole_blocks(in(0).dtype, in(0).shape.dims[0]);
    case OpKind::MatMul:
      return n.dtype == DType::F32 && matmul_weight(in(0).dtype) && is_f32(g, n.inputs[1]) &&
             whole_blocks(in(0).dtype, in(0).shape.dims[0]);
    case OpKind::KvStore:
      return (n.dtype == DType::F32 || n.dtype == DType::F16) && is_f32(g, n.inputs[1]);
    case OpKind::Attention:
      return n.dtype == DType::F32 && (in(1).dtype == DType::F32 || in(1).dtype == DType::F16) &&
             in(1).dtype == in(2).dtype && n.params.head_dim <= kMaxHeadDim &&
             n.params.n_head_kv > 0 && n.params.n_head % n.params.n_head_kv == 0;
    case OpKind::Custom:
      return n.params.custom && custom_.source("opencl", n.params.custom->name) != nullptr;
    case OpKind::RopeKvStore:  // no fused kernels: the unfused ops run here instead
    case OpKind::RopeAttention:
      return false;
  }
  return false;
}

std::unique_ptr<hal::Stream> OpenClDevice::create_stream() {
  return std::make_unique<OpenClStream>(ctx_, table_, custom_);
}

void register_opencl_backend(hal::Registry& r) {
  // Below the native CPU backend on CPU-only OpenCL (PoCL), above it on a GPU.
  int priority = -10;
  for (const ClDeviceInfo& d : list_devices()) {
    if (d.type & CL_DEVICE_TYPE_GPU) priority = 10;
  }
  const hal::CustomKernels& custom = r.custom_kernels();
  r.add({"opencl", priority,
         [&custom](const hal::DeviceOptions& opts) { return OpenClDevice::create(opts, custom); }});
}

}  // namespace autoglm::opencl
