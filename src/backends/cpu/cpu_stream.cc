#include "backends/cpu/cpu_stream.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "backends/cpu/kernels/attention.h"
#include "backends/cpu/kernels/elementwise.h"
#include "backends/cpu/kernels/fused.h"
#include "backends/cpu/kernels/get_rows.h"
#include "backends/cpu/kernels/kv_store.h"
#include "backends/cpu/kernels/matmul.h"
#include "backends/cpu/kernels/norm.h"
#include "backends/cpu/kernels/rope.h"
#include "backends/cpu/kernels/softmax.h"
#include "graph/custom_op.h"
#include "hal/custom_kernels.h"

namespace autoglm::cpu {
namespace {

float* f32(const hal::TensorRef& t) {
  return static_cast<float*>(t.data);
}

// The plain copy of a packed weight is no longer read here: asking the kernel to reclaim its
// pages keeps one copy of the weights resident instead of two. Only a hint: contents stay valid
// and pages come back on access (another device or the embedding lookup of a tied weight), and
// anonymous memory without swap simply stays.
void release_pages(const void* p, size_t bytes) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) / page * page;
#if defined(MADV_PAGEOUT)
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
#endif
}

// A node's rope parameters; freq holds the llama3 frequency factors (no data: none).
RopeParams rope_params(const graph::OpParams& p, const hal::TensorRef& freq) {
  return {p.n_rot, p.neox, p.freq_base, p.freq_scale, static_cast<const float*>(freq.data)};
}

}  // namespace

void* CpuStream::scratch(size_t bytes) {
  if (bytes > scratch_bytes_) {
    scratch_ = aligned_alloc_bytes(bytes);
    scratch_bytes_ = scratch_ ? bytes : 0;
  }
  return scratch_.get();
}

const PackedWeight* CpuStream::packed(const hal::TensorRef& w) {
  const int64_t k = w.desc.dims[0], n_out = w.desc.dims[1];
  if (!w.constant || !packed_matmul_supports(w.desc.dtype, k)) return nullptr;
  if (auto it = packed_.find(w.data); it != packed_.end()) return &it->second;
  PackedWeight p = alloc_packed_weight(w.desc.dtype, n_out, k);
  if (!p.data) return nullptr;
  p.order = order_;
  const auto row_bytes = static_cast<size_t>(w.desc.strides[1]);
  const int64_t groups = (n_out + kPackRows - 1) / kPackRows;
  // Slices of ~2 MB, each released once packed, so the two copies never coexist in full.
  const int64_t slice =
      std::max<int64_t>(1, (2 << 20) / static_cast<int64_t>(kPackRows * row_bytes));
  for (int64_t s0 = 0; s0 < groups; s0 += slice) {
    const int64_t s1 = std::min(groups, s0 + slice);
    par([&](int ith, int nth) {
      int64_t g0, g1;
      ThreadPool::split(s1 - s0, ith, nth, &g0, &g1);
      pack_weight_groups(p, w.data, row_bytes, s0 + g0, s0 + g1);
    });
    const int64_t r0 = s0 * kPackRows, r1 = std::min(n_out, s1 * kPackRows);
    release_pages(static_cast<const uint8_t*>(w.data) + r0 * row_bytes,
                  static_cast<size_t>(r1 - r0) * row_bytes);
  }
  return &packed_.emplace(w.data, std::move(p)).first->second;
}

void* CpuStream::thread_scratch(int ith, size_t bytes) {
  ThreadBuffer& b = thread_scratch_[static_cast<size_t>(ith)];
  if (bytes > b.bytes) {
    b.data = aligned_alloc_bytes(bytes);
    b.bytes = b.data ? bytes : 0;
  }
  return b.data.get();
}

std::map<std::string, double> CpuStream::kernel_seconds_by_op() const {
  std::map<std::string, double> out;
  for (const auto& [key, s] : seconds_by_op_) {
    std::string name(graph::op_name(key.first));
    if (key.first == graph::OpKind::MatMul) name += " " + std::string(dtype_name(key.second));
    out[name] += s;
  }
  if (quantize_seconds_ > 0) out["MatMul input quantization"] = quantize_seconds_;
  return out;
}

Status CpuStream::compute(const hal::SplitExec& split) {
  const std::vector<hal::NodeExec>& nodes = split.nodes;
  for (size_t i = 0; i < nodes.size();) {
    const hal::NodeExec& first = nodes[i];
    const double before = kernel_seconds_, quantize_before = quantize_seconds_;
    size_t next = i + 1;
    if (first.node->op != graph::OpKind::MatMul) {
      AUTOGLM_RETURN_IF_ERROR(run_node(first));
    } else {
      // The run of MatMuls on this node's input whose activations quantize alike.
      const DType act = matmul_activation_type(first.in[0].desc.dtype);
      while (next < nodes.size() && nodes[next].node->op == graph::OpKind::MatMul &&
             nodes[next].in[1].data == first.in[1].data &&
             matmul_activation_type(nodes[next].in[0].desc.dtype) == act) {
        ++next;
      }
      AUTOGLM_RETURN_IF_ERROR(run_matmuls({nodes.data() + i, next - i}));
    }
    if (timing_) {
      const graph::OpKind op = first.node->op;
      const DType weight = op == graph::OpKind::MatMul ? first.in[0].desc.dtype : DType::F32;
      seconds_by_op_[{op, weight}] +=
          kernel_seconds_ - before - (quantize_seconds_ - quantize_before);
    }
    i = next;
  }
  return {};
}

Status CpuStream::run_matmuls(std::span<const hal::NodeExec> group) {
  const hal::TensorRef& x = group.front().in[1];  // [n_tok, k], the same for all
  const int64_t k = x.desc.dims[0], n_tok = x.desc.dims[1];
  const DType act = matmul_activation_type(group.front().in[0].desc.dtype);
  // A few rows (decode) each thread quantizes for itself, cheaper than a hand-off between
  // threads; more rows are quantized once, split over the threads.
  constexpr int64_t kOwnQuantRows = 4;
  const size_t act_bytes = dtype_row_bytes(act, k) * static_cast<size_t>(n_tok);
  const bool own_quant = act != DType::F32 && n_tok <= kOwnQuantRows;
  if (own_quant) {
    for (int t = 0; t < pool_.size(); ++t) {
      if (!thread_scratch(t, act_bytes))
        return error(ErrorCode::ResourceExhausted, "out of memory for matmul activations");
    }
  } else if (act != DType::F32) {
    void* buf = scratch(act_bytes);
    if (!buf) return error(ErrorCode::ResourceExhausted, "out of memory for matmul activations");
    const double k0 = kernel_seconds_;
    par([&](int ith, int nth) { convert_activations(f32(x), n_tok, k, act, buf, ith, nth); });
    if (timing_) quantize_seconds_ += kernel_seconds_ - k0;
  }
  // Packing runs its own parallel loop, so it happens before the group's.
  group_packed_.clear();
  for (const hal::NodeExec& ne : group) group_packed_.push_back(packed(ne.in[0]));
  par([&](int ith, int nth) {
    const void* xq = x.data;
    if (own_quant) {
      void* buf = thread_scratch_[static_cast<size_t>(ith)].data.get();
      convert_activations(f32(x), n_tok, k, act, buf, 0, 1);
      xq = buf;
    } else if (act != DType::F32) {
      xq = scratch_.get();
    }
    for (size_t m = 0; m < group.size(); ++m) {
      const hal::TensorRef& w = group[m].in[0];  // [n_out, k]
      const hal::TensorRef& out = group[m].out;  // [n_tok, n_out]
      const int64_t n_out = w.desc.dims[1];
      if (const PackedWeight* pw = group_packed_[m]) {
        packed_matmul(*pw, xq, n_tok, f32(out), n_out, ith, nth);
      } else {
        matmul(w.desc.dtype, w.data, static_cast<size_t>(w.desc.strides[1]), xq, n_tok, n_out, k,
               f32(out), n_out, ith, nth);
      }
    }
  });
  return {};
}

Status CpuStream::run_node(const hal::NodeExec& ne) {
  using graph::OpKind;
  const graph::Node& n = *ne.node;
  const hal::TensorRef& out = ne.out;
  const auto& p = n.params;
  switch (n.op) {
    case OpKind::GetRows: {
      const hal::TensorRef& table = ne.in[0];  // [n_rows, n_embd]
      const hal::TensorRef& ids = ne.in[1];    // [n_ids]
      const auto* id = static_cast<const int32_t*>(ids.data);
      for (int64_t i = 0; i < ids.desc.dims[0]; ++i) {
        if (id[i] < 0 || id[i] >= table.desc.dims[1]) {
          return error(ErrorCode::InvalidArgument,
                       "node '" + n.name + "': row id " + std::to_string(id[i]) +
                           " is out of range [0, " + std::to_string(table.desc.dims[1]) + ")");
        }
      }
      par(
          [&](int ith, int nth) {
            get_rows(table.desc.dtype, table.data, static_cast<size_t>(table.desc.strides[1]), id,
                     ids.desc.dims[0], table.desc.dims[0], f32(out), ith, nth);
          },
          out.desc.elements());
      return {};
    }
    case OpKind::RmsNorm:
      par(
          [&](int ith, int nth) {
            rms_norm(f32(ne.in[0]), f32(out), out.desc.rows(), out.desc.dims[0], p.eps, ith, nth);
          },
          2 * out.desc.elements());
      return {};
    case OpKind::Mul:
    case OpKind::Add: {
      const int64_t b_rows = ne.in[1].desc.rows();
      const bool is_mul = n.op == OpKind::Mul;
      par(
          [&](int ith, int nth) {
            (is_mul ? mul : add)(f32(ne.in[0]), f32(ne.in[1]), f32(out), out.desc.rows(),
                                 out.desc.dims[0], b_rows, ith, nth);
          },
          out.desc.elements());
      return {};
    }
    case OpKind::Silu:
      par([&](int ith, int nth) { silu(f32(ne.in[0]), f32(out), out.desc.elements(), ith, nth); },
          kExpWork * out.desc.elements());
      return {};
    case OpKind::RmsNormMul:
      par(
          [&](int ith, int nth) {
            rms_norm_mul(f32(ne.in[0]), f32(ne.in[1]), f32(out), out.desc.rows(), out.desc.dims[0],
                         p.eps, ith, nth);
          },
          2 * out.desc.elements());
      return {};
    case OpKind::SwiGlu:
      par(
          [&](int ith, int nth) {
            swiglu(f32(ne.in[0]), f32(ne.in[1]), f32(out), out.desc.elements(), ith, nth);
          },
          kExpWork * out.desc.elements());
      return {};
    case OpKind::Softmax:
      par(
          [&](int ith, int nth) {
            softmax(f32(ne.in[0]), f32(out), out.desc.rows(), out.desc.dims[0], p.scale, ith, nth);
          },
          kExpWork * out.desc.elements());
      return {};
    case OpKind::Rope: {
      const RopeParams rp = rope_params(p, ne.in[2]);
      const int64_t n_tok = out.desc.dims[1];
      par(
          [&](int ith, int nth) {
            rope(f32(ne.in[0]), f32(out), n_tok, p.n_head, p.head_dim,
                 static_cast<const int32_t*>(ne.in[1].data), rp, ith, nth);
          },
          2 * out.desc.elements());
      return {};
    }
    case OpKind::KvStore:
    case OpKind::RopeKvStore: {
      // Slots are checked by the caller that fills them (runtime::BatchRunner).
      const hal::TensorRef& cache = ne.in[0];                          // [n_slots, row]
      const hal::TensorRef& src = ne.in[1];                            // [n_tok, row]
      const auto* slots = static_cast<const int32_t*>(ne.in[2].data);  // [n_tok]
      KvStoreRope rope{};
      if (n.op == OpKind::RopeKvStore) {
        rope = {rope_params(p, ne.in[4]), static_cast<const int32_t*>(ne.in[3].data), p.n_head,
                p.head_dim};
      }
      par(
          [&](int ith, int nth) {
            kv_store(f32(src), slots, src.desc.dims[1], src.desc.dims[0], cache.desc.dtype,
                     cache.data, static_cast<size_t>(cache.desc.strides[1]),
                     n.op == OpKind::RopeKvStore ? &rope : nullptr, ith, nth);
          },
          2 * src.desc.elements());
      return {};
    }
    case OpKind::Attention:
    case OpKind::RopeAttention: {
      const hal::TensorRef& q = ne.in[0];  // [n_tok, n_head*hd]
      const hal::TensorRef& k = ne.in[1];  // [n_slots, n_head_kv*hd]
      const hal::TensorRef& v = ne.in[2];
      const hal::TensorRef& bt = ne.in[5];  // [n_seqs, width]
      AttentionParams ap{};
      ap.n_tok = q.desc.dims[1];
      ap.n_head = p.n_head;
      ap.n_head_kv = p.n_head_kv;
      ap.head_dim = p.head_dim;
      ap.scale = p.scale;
      ap.kv_type = k.desc.dtype;
      ap.k_row_bytes = static_cast<size_t>(k.desc.strides[1]);
      ap.v_row_bytes = static_cast<size_t>(v.desc.strides[1]);
      ap.positions = static_cast<const int32_t*>(ne.in[3].data);
      ap.tok_seq = static_cast<const int32_t*>(ne.in[4].data);
      ap.block_tables = static_cast<const int32_t*>(bt.data);
      ap.table_width = bt.desc.dims[0];
      ap.block_size = p.block_size;
      RopeParams q_rope{};
      if (n.op == OpKind::RopeAttention) {
        q_rope = rope_params(p, ne.in[6]);
        ap.q_rope = &q_rope;
      }
      par([&](int ith, int nth) { attention(f32(q), k.data, v.data, f32(out), ap, ith, nth); });
      return {};
    }
    case OpKind::Custom: {
      const hal::HostKernel* k =
          p.custom ? hal::CustomKernels::global().host("cpu", p.custom->name) : nullptr;
      if (!k) break;  // placement only puts it here when the kernel exists
      par([&](int ith, int nth) { k->run(ne, ith, nth); });
      return {};
    }
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return {};
    case OpKind::MatMul:
      break;  // compute() runs every MatMul through run_matmuls
  }
  return error(ErrorCode::Internal, "cpu: no kernel for node '" + n.name + "'");
}

}  // namespace autoglm::cpu
