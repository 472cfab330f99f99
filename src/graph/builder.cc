#include "graph/builder.h"

#include "graph/infer.h"

namespace autoglm::graph {

Value Builder::push(OpKind op, const std::string& name, DType dtype, Shape shape,
                    std::vector<NodeId> in, OpParams params) {
  if (!status_.ok()) return {};
  Node n;
  n.id = static_cast<NodeId>(g_.nodes().size());
  n.op = op;
  n.name = name;
  n.dtype = dtype;
  n.shape = shape;
  n.inputs = std::move(in);
  n.params = params;
  if (op != OpKind::Input && op != OpKind::Weight && op != OpKind::KvCache) {
    auto r = infer(g_, n);
    if (!r.ok()) {
      status_ = r.status();
      return {};
    }
    n.dtype = r->dtype;
    n.shape = r->shape;
  }
  return {g_.add(std::move(n))};
}

Value Builder::input(const std::string& name, DType dtype, Shape shape) {
  return push(OpKind::Input, name, dtype, shape, {});
}

Value Builder::weight(const std::string& name, const TensorDesc& desc, const void* data) {
  Shape s;
  s.n_dims = desc.n_dims;
  for (int i = 0; i < desc.n_dims; ++i) s.dims[i] = Dim::of(desc.dims[i]);
  Value v = push(OpKind::Weight, name, desc.dtype, s, {});
  if (v.id >= 0) g_.node(v.id).weight_data = data;
  return v;
}

Value Builder::kv_cache(const std::string& name, DType dtype, Shape shape, int32_t slot) {
  Value v = push(OpKind::KvCache, name, dtype, shape, {});
  if (v.id >= 0) g_.node(v.id).state_slot = slot;
  return v;
}

Value Builder::get_rows(Value table, Value ids, const std::string& name) {
  return push(OpKind::GetRows, name, DType::F32, {}, {table.id, ids.id});
}

Value Builder::rms_norm(Value x, float eps, const std::string& name) {
  OpParams p;
  p.eps = eps;
  return push(OpKind::RmsNorm, name, DType::F32, {}, {x.id}, p);
}

Value Builder::mul(Value a, Value b, const std::string& name) {
  return push(OpKind::Mul, name, DType::F32, {}, {a.id, b.id});
}

Value Builder::add(Value a, Value b, const std::string& name) {
  return push(OpKind::Add, name, DType::F32, {}, {a.id, b.id});
}

Value Builder::silu(Value x, const std::string& name) {
  return push(OpKind::Silu, name, DType::F32, {}, {x.id});
}

Value Builder::matmul(Value w, Value x, const std::string& name) {
  return push(OpKind::MatMul, name, DType::F32, {}, {w.id, x.id});
}

Value Builder::rope(Value x, Value positions, Value freq_factors, const OpParams& p,
                    const std::string& name) {
  return push(OpKind::Rope, name, DType::F32, {}, {x.id, positions.id, freq_factors.id}, p);
}

Value Builder::rms_norm_mul(Value x, Value w, float eps, const std::string& name) {
  OpParams p;
  p.eps = eps;
  return push(OpKind::RmsNormMul, name, DType::F32, {}, {x.id, w.id}, p);
}

Value Builder::swiglu(Value gate, Value up, const std::string& name) {
  return push(OpKind::SwiGlu, name, DType::F32, {}, {gate.id, up.id});
}

Value Builder::softmax(Value x, float scale, const std::string& name) {
  OpParams p;
  p.scale = scale;
  return push(OpKind::Softmax, name, DType::F32, {}, {x.id}, p);
}

Value Builder::kv_store(Value cache, Value src, Value slots, const std::string& name) {
  return push(OpKind::KvStore, name, DType::F32, {}, {cache.id, src.id, slots.id});
}

Value Builder::attention(Value q, Value k, Value v, const PagedView& kv, const OpParams& p,
                         const std::string& name) {
  return push(OpKind::Attention, name, DType::F32, {},
              {q.id, k.id, v.id, kv.positions.id, kv.tok_seq.id, kv.block_tables.id}, p);
}

Value Builder::custom(const CustomOp& op, std::vector<Value> inputs, const std::string& name,
                      OpParams params) {
  std::vector<NodeId> in;
  for (Value v : inputs) in.push_back(v.id);
  params.custom = &op;
  return push(OpKind::Custom, name, DType::F32, {}, std::move(in), params);
}

}  // namespace autoglm::graph
