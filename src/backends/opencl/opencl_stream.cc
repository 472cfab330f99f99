#include "backends/opencl/opencl_stream.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/quant.h"
#include "graph/custom_op.h"

namespace autoglm::opencl {
namespace {

using graph::OpKind;

// Kernel arguments in order; a tensor is two arguments, its buffer and its byte offset.
class Args {
 public:
  explicit Args(cl_kernel k) : k_(k) {}
  Args& mem(const DeviceRef& r) {
    set(sizeof(cl_mem), &r.mem);
    const cl_ulong off = r.offset;
    return set(sizeof(off), &off);
  }
  Args& buf(cl_mem m) { return set(sizeof(m), &m); }
  Args& i32(int64_t v) {
    const cl_int x = static_cast<cl_int>(v);
    return set(sizeof(x), &x);
  }
  Args& i64(int64_t v) {
    const cl_long x = v;
    return set(sizeof(x), &x);
  }
  Args& u64(uint64_t v) {
    const cl_ulong x = v;
    return set(sizeof(x), &x);
  }
  Args& f32(float v) { return set(sizeof(v), &v); }
  Args& local(size_t bytes) { return set(bytes, nullptr); }
  Status status(const char* name) const {
    if (err_ != CL_SUCCESS) return cl_error(err_, std::string("clSetKernelArg(") + name + ")");
    return {};
  }

 private:
  Args& set(size_t size, const void* v) {
    if (err_ == CL_SUCCESS) err_ = clSetKernelArg(k_, idx_, size, v);
    ++idx_;
    return *this;
  }
  cl_kernel k_;
  cl_uint idx_ = 0;
  cl_int err_ = CL_SUCCESS;
};

size_t pow2_at_most(size_t n) {
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

}  // namespace

OpenClStream::OpenClStream(std::shared_ptr<ClContext> ctx, std::shared_ptr<MemoryTable> table,
                           const hal::CustomKernels& custom)
    : ctx_(std::move(ctx)), table_(std::move(table)), custom_(custom) {
  cl_int err = CL_SUCCESS;
  queue_ = clCreateCommandQueue(ctx_->context(), ctx_->info().id, 0, &err);
  if (err != CL_SUCCESS) pending_ = cl_error(err, "clCreateCommandQueue");
  row_local_ = pow2_at_most(std::min<size_t>(64, ctx_->info().max_work_group));
}

OpenClStream::~OpenClStream() {
  if (queue_) clFinish(queue_);
  for (auto& [name, k] : kernels_) clReleaseKernel(k);
  if (act_) clReleaseMemObject(act_);
  if (scores_) clReleaseMemObject(scores_);
  if (queue_) clReleaseCommandQueue(queue_);
}

Result<cl_kernel> OpenClStream::kernel(const char* name) {
  auto it = kernels_.find(name);
  if (it != kernels_.end()) return it->second;
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(ctx_->program(), name, &err);
  AUTOGLM_CL_CHECK(err, std::string("clCreateKernel(") + name + ")");
  kernels_.emplace(name, k);
  return k;
}

Result<cl_kernel> OpenClStream::custom_kernel(const std::string& op, const hal::SourceKernel& k) {
  const std::string key = "custom:" + op;
  auto it = kernels_.find(key);
  if (it != kernels_.end()) return it->second;
  AUTOGLM_ASSIGN_OR_RETURN(cl_program p, ctx_->custom_program(op, k.source));
  cl_int err = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(p, k.entry.c_str(), &err);
  AUTOGLM_CL_CHECK(err, "clCreateKernel(" + k.entry + ") of custom op '" + op + "'");
  kernels_.emplace(key, kernel);
  return kernel;
}

Status OpenClStream::launch(cl_kernel k, const char* name, std::initializer_list<size_t> global,
                            size_t local) {
  size_t g[3];
  size_t l[3] = {local, 1, 1};
  cl_uint dims = 0;
  for (size_t v : global) {
    if (v == 0) return {};  // nothing to do
    g[dims++] = v;
  }
  if (local) g[0] *= local;  // global[0] counts work-groups when a local size is given
  AUTOGLM_CL_CHECK(
      clEnqueueNDRangeKernel(queue_, k, dims, nullptr, g, local ? l : nullptr, 0, nullptr, nullptr),
      std::string("clEnqueueNDRangeKernel(") + name + ")");
  return {};
}

Status OpenClStream::reserve(cl_mem& buf, size_t& have, size_t bytes) {
  if (bytes <= have) return {};
  if (buf) clReleaseMemObject(buf);  // freed once the kernels using it have finished
  buf = nullptr;
  have = 0;
  cl_int err = CL_SUCCESS;
  buf = clCreateBuffer(ctx_->context(), CL_MEM_READ_WRITE, bytes, nullptr, &err);
  AUTOGLM_CL_CHECK(err, "clCreateBuffer of " + std::to_string(bytes) + " scratch bytes");
  have = bytes;
  return {};
}

Result<OpenClStream::Resolved> OpenClStream::resolve(const hal::NodeExec& ne,
                                                     std::vector<Region*>& touched) {
  Resolved r{&ne, {}, {}};
  auto one = [&](const hal::TensorRef& t, bool write) -> Result<DeviceRef> {
    AUTOGLM_ASSIGN_OR_RETURN(DeviceRef d, table_->resolve(t.data, t.desc.bytes(), write));
    if (d.region->owned && std::find(touched.begin(), touched.end(), d.region) == touched.end())
      touched.push_back(d.region);
    return d;
  };
  AUTOGLM_ASSIGN_OR_RETURN(r.out, one(ne.out, true));
  for (const hal::TensorRef& t : ne.in) {
    if (!t.data) {
      r.in.push_back({});
      continue;
    }
    AUTOGLM_ASSIGN_OR_RETURN(DeviceRef d, one(t, false));
    r.in.push_back(d);
  }
  return r;
}

Status OpenClStream::check_inputs(const hal::NodeExec& ne) {
  const graph::Node& n = *ne.node;
  if (n.op == OpKind::GetRows) {
    const hal::TensorRef& table = ne.in[0];                       // [n_rows, n_embd]
    const auto* id = static_cast<const int32_t*>(ne.in[1].data);  // [n_ids]
    for (int64_t i = 0; i < ne.in[1].desc.dims[0]; ++i) {
      if (id[i] < 0 || id[i] >= table.desc.dims[1]) {
        return error(ErrorCode::InvalidArgument,
                     "node '" + n.name + "': row id " + std::to_string(id[i]) +
                         " is out of range [0, " + std::to_string(table.desc.dims[1]) + ")");
      }
    }
  } else if (n.op == OpKind::Attention) {
    const auto* pos = static_cast<const int32_t*>(ne.in[3].data);  // [n_tok]
    for (int64_t t = 0; t < ne.in[3].desc.dims[0]; ++t) {
      max_positions_ = std::max<int64_t>(max_positions_, int64_t{pos[t]} + 1);
    }
  }
  return {};
}

Status OpenClStream::compute(const hal::SplitExec& split) {
  if (!pending_.ok()) return std::exchange(pending_, Status{});
  std::vector<Resolved> nodes;
  std::vector<Region*> touched;
  nodes.reserve(split.nodes.size());
  max_positions_ = 0;
  for (const hal::NodeExec& ne : split.nodes) {
    switch (ne.node->op) {
      case OpKind::Input:
      case OpKind::Weight:
      case OpKind::KvCache:
        continue;
      default:
        break;
    }
    AUTOGLM_RETURN_IF_ERROR(check_inputs(ne));
    AUTOGLM_ASSIGN_OR_RETURN(Resolved r, resolve(ne, touched));
    nodes.push_back(std::move(r));
  }
  AUTOGLM_RETURN_IF_ERROR(table_->unmap(touched, queue_));
  Status st;
  for (const Resolved& r : nodes) {
    st = enqueue(r);
    if (!st.ok()) break;
  }
  // Mapped back even after a failure, so the host owns its buffers again.
  const Status mapped = table_->map(touched, queue_);
  AUTOGLM_RETURN_IF_ERROR(st);
  AUTOGLM_RETURN_IF_ERROR(mapped);
  AUTOGLM_CL_CHECK(clFlush(queue_), "clFlush");
  return {};
}

void OpenClStream::synchronize() {
  const cl_int err = clFinish(queue_);
  if (err != CL_SUCCESS && pending_.ok()) pending_ = cl_error(err, "clFinish");
}

Status OpenClStream::enqueue(const Resolved& r) {
  const hal::NodeExec& ne = *r.ne;
  const graph::Node& n = *ne.node;
  const auto& p = n.params;
  const TensorDesc& od = ne.out.desc;
  const size_t acc_local = row_local_ * sizeof(cl_double);
  switch (n.op) {
    case OpKind::GetRows: {
      const TensorDesc& table = ne.in[0].desc;  // [n_rows, n_embd]
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("get_rows"));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .u64(static_cast<uint64_t>(table.strides[1]))
                                  .i32(static_cast<int>(table.dtype))
                                  .mem(r.in[1])
                                  .mem(r.out)
                                  .status("get_rows"));
      return launch(
          k, "get_rows",
          {static_cast<size_t>(table.dims[0]), static_cast<size_t>(ne.in[1].desc.dims[0])});
    }
    case OpKind::RmsNorm:
    case OpKind::Softmax: {
      const bool norm = n.op == OpKind::RmsNorm;
      const char* name = norm ? "rms_norm_f32" : "softmax_f32";
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel(name));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .mem(r.out)
                                  .i64(od.dims[0])
                                  .f32(norm ? p.eps : p.scale)
                                  .local(acc_local)
                                  .status(name));
      return launch(k, name, {static_cast<size_t>(od.rows())}, row_local_);
    }
    case OpKind::Mul:
    case OpKind::Add: {
      const char* name = n.op == OpKind::Mul ? "mul_f32" : "add_f32";
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel(name));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .mem(r.in[1])
                                  .mem(r.out)
                                  .i64(od.dims[0])
                                  .i64(ne.in[1].desc.rows())
                                  .status(name));
      return launch(k, name, {static_cast<size_t>(od.elements())});
    }
    case OpKind::RmsNormMul: {
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("rms_norm_mul_f32"));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .mem(r.in[1])
                                  .mem(r.out)
                                  .i64(od.dims[0])
                                  .f32(p.eps)
                                  .local(acc_local)
                                  .status("rms_norm_mul_f32"));
      return launch(k, "rms_norm_mul_f32", {static_cast<size_t>(od.rows())}, row_local_);
    }
    case OpKind::SwiGlu: {
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("swiglu_f32"));
      AUTOGLM_RETURN_IF_ERROR(Args(k).mem(r.in[0]).mem(r.in[1]).mem(r.out).status("swiglu_f32"));
      return launch(k, "swiglu_f32", {static_cast<size_t>(od.elements())});
    }
    case OpKind::Silu: {
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("silu_f32"));
      AUTOGLM_RETURN_IF_ERROR(Args(k).mem(r.in[0]).mem(r.out).status("silu_f32"));
      return launch(k, "silu_f32", {static_cast<size_t>(od.elements())});
    }
    case OpKind::Rope: {
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("rope_f32"));
      const bool has_ff = r.in.size() > 2 && r.in[2].mem != nullptr;
      // Any valid buffer stands in for absent freq factors; the kernel does not read it.
      const DeviceRef ff = has_ff ? r.in[2] : r.in[1];
      const float theta_scale =
          std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));  // as the CPU reference
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .mem(r.in[1])
                                  .mem(ff)
                                  .i32(has_ff ? 1 : 0)
                                  .mem(r.out)
                                  .i32(p.head_dim)
                                  .i32(p.n_rot)
                                  .i32(p.neox ? 1 : 0)
                                  .f32(theta_scale)
                                  .f32(p.freq_scale)
                                  .status("rope_f32"));
      return launch(k, "rope_f32",
                    {static_cast<size_t>((p.head_dim + 1) / 2), static_cast<size_t>(p.n_head),
                     static_cast<size_t>(od.dims[1])});
    }
    case OpKind::MatMul: {
      const TensorDesc& w = ne.in[0].desc;  // [n_out, k]
      const TensorDesc& x = ne.in[1].desc;  // [n_tok, k]
      const int64_t kdim = x.dims[0], n_tok = x.dims[1];
      const DType act = matmul_activation_type(w.dtype);
      DeviceRef xq = r.in[1];
      if (act != DType::F32) {
        const size_t row_bytes = dtype_row_bytes(act, kdim);
        AUTOGLM_RETURN_IF_ERROR(reserve(act_, act_bytes_, row_bytes * static_cast<size_t>(n_tok)));
        xq = DeviceRef{act_, 0, nullptr};
        if (act == DType::F16) {
          AUTOGLM_ASSIGN_OR_RETURN(cl_kernel c, kernel("convert_f16"));
          AUTOGLM_RETURN_IF_ERROR(Args(c).mem(r.in[1]).mem(xq).status("convert_f16"));
          AUTOGLM_RETURN_IF_ERROR(launch(c, "convert_f16", {static_cast<size_t>(kdim * n_tok)}));
        } else {
          const char* qname = act == DType::Q8_1 ? "quantize_q8_1" : "quantize_q8_0";
          AUTOGLM_ASSIGN_OR_RETURN(cl_kernel c, kernel(qname));
          AUTOGLM_RETURN_IF_ERROR(Args(c).mem(r.in[1]).mem(xq).i64(kdim).status(qname));
          AUTOGLM_RETURN_IF_ERROR(
              launch(c, qname, {static_cast<size_t>(kdim / 32), static_cast<size_t>(n_tok)}));
        }
      }
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("matmul"));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .u64(static_cast<uint64_t>(w.strides[1]))
                                  .i32(static_cast<int>(w.dtype))
                                  .mem(xq)
                                  .u64(dtype_row_bytes(act, kdim))
                                  .mem(r.out)
                                  .i64(kdim)
                                  .status("matmul"));
      return launch(k, "matmul", {static_cast<size_t>(w.dims[1]), static_cast<size_t>(n_tok)});
    }
    case OpKind::KvStore: {
      const TensorDesc& cache = ne.in[0].desc;  // [n_slots, row]
      const TensorDesc& src = ne.in[1].desc;    // [n_tok, row]
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("kv_store"));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[1])
                                  .mem(r.in[2])
                                  .mem(r.in[0])
                                  .u64(static_cast<uint64_t>(cache.strides[1]))
                                  .i32(cache.dtype == DType::F16 ? 1 : 0)
                                  .status("kv_store"));
      return launch(k, "kv_store",
                    {static_cast<size_t>(src.dims[0]), static_cast<size_t>(src.dims[1])});
    }
    case OpKind::Attention: {
      const TensorDesc& q = ne.in[0].desc;   // [n_tok, n_head*hd]
      const TensorDesc& kc = ne.in[1].desc;  // [n_slots, n_head_kv*hd]
      const TensorDesc& bt = ne.in[5].desc;  // [n_seqs, width]
      const int64_t n_tok = q.dims[1];
      const int64_t stride = std::max<int64_t>(max_positions_, 1);
      AUTOGLM_RETURN_IF_ERROR(reserve(
          scores_, scores_bytes_, static_cast<size_t>(n_tok * p.n_head * stride) * sizeof(float)));
      AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, kernel("attention"));
      AUTOGLM_RETURN_IF_ERROR(Args(k)
                                  .mem(r.in[0])
                                  .mem(r.in[1])
                                  .mem(r.in[2])
                                  .mem(r.in[3])
                                  .mem(r.in[4])
                                  .mem(r.in[5])
                                  .mem(r.out)
                                  .buf(scores_)
                                  .i64(stride)
                                  .i32(bt.dims[0])
                                  .i32(p.block_size)
                                  .i32(p.n_head_kv)
                                  .i32(p.head_dim)
                                  .u64(static_cast<uint64_t>(kc.strides[1]))
                                  .u64(static_cast<uint64_t>(ne.in[2].desc.strides[1]))
                                  .f32(p.scale)
                                  .i32(kc.dtype == DType::F16 ? 1 : 0)
                                  .local(static_cast<size_t>(p.head_dim) * sizeof(float))
                                  .local(acc_local)
                                  .status("attention"));
      return launch(k, "attention", {static_cast<size_t>(p.n_head), static_cast<size_t>(n_tok)},
                    row_local_);
    }
    case OpKind::Custom:
      return enqueue_custom(r);
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return {};
    case OpKind::RopeKvStore:  // never placed here (OpenClDevice::supports)
    case OpKind::RopeAttention:
      break;
  }
  return error(ErrorCode::Internal, "opencl: no kernel for node '" + n.name + "'");
}

Status OpenClStream::enqueue_custom(const Resolved& r) {
  const hal::NodeExec& ne = *r.ne;
  const graph::Node& n = *ne.node;
  const hal::SourceKernel* sk =
      n.params.custom ? custom_.source("opencl", n.params.custom->name) : nullptr;
  if (!sk) return error(ErrorCode::Internal, "opencl: no kernel for node '" + n.name + "'");
  const std::string& op = n.params.custom->name;
  AUTOGLM_ASSIGN_OR_RETURN(cl_kernel k, custom_kernel(op, *sk));
  Args args(k);
  for (const DeviceRef& in : r.in) args.mem(in);
  args.mem(r.out);
  if (sk->scalars) {
    for (const hal::SourceKernel::Scalar& v : sk->scalars(ne)) {
      if (const auto* i = std::get_if<int32_t>(&v)) {
        args.i32(*i);
      } else if (const auto* l = std::get_if<int64_t>(&v)) {
        args.i64(*l);
      } else {
        args.f32(std::get<float>(v));
      }
    }
  }
  AUTOGLM_RETURN_IF_ERROR(args.status(sk->entry.c_str()));
  const std::vector<size_t> global =
      sk->global_size ? sk->global_size(ne)
                      : std::vector<size_t>{static_cast<size_t>(ne.out.desc.elements())};
  if (global.empty() || global.size() > 3) {
    return error(ErrorCode::InvalidArgument, "custom op '" + op + "': its global_size has " +
                                                 std::to_string(global.size()) +
                                                 " dimensions; give 1 to 3");
  }
  size_t g[3];
  for (size_t i = 0; i < global.size(); ++i) {
    if (global[i] == 0) return {};  // nothing to do
    g[i] = global[i];
  }
  AUTOGLM_CL_CHECK(clEnqueueNDRangeKernel(queue_, k, static_cast<cl_uint>(global.size()), nullptr,
                                          g, nullptr, 0, nullptr, nullptr),
                   "clEnqueueNDRangeKernel(" + sk->entry + ") of custom op '" + op + "'");
  return {};
}

}  // namespace autoglm::opencl
