#include "graph/graph.h"

#include <algorithm>

#include "graph/custom_op.h"
#include "graph/infer.h"

namespace autoglm::graph {

std::string_view op_name(OpKind op) {
  switch (op) {
    case OpKind::Input:
      return "Input";
    case OpKind::Weight:
      return "Weight";
    case OpKind::KvCache:
      return "KvCache";
    case OpKind::GetRows:
      return "GetRows";
    case OpKind::RmsNorm:
      return "RmsNorm";
    case OpKind::Mul:
      return "Mul";
    case OpKind::Add:
      return "Add";
    case OpKind::Silu:
      return "Silu";
    case OpKind::MatMul:
      return "MatMul";
    case OpKind::Rope:
      return "Rope";
    case OpKind::Softmax:
      return "Softmax";
    case OpKind::KvStore:
      return "KvStore";
    case OpKind::Attention:
      return "Attention";
    case OpKind::RmsNormMul:
      return "RmsNormMul";
    case OpKind::SwiGlu:
      return "SwiGlu";
    case OpKind::RopeKvStore:
      return "RopeKvStore";
    case OpKind::RopeAttention:
      return "RopeAttention";
    case OpKind::Custom:
      return "Custom";
  }
  return "?";
}

std::string op_label(const Node& n) {
  if (n.op == OpKind::Custom && n.params.custom) return n.params.custom->name;
  return std::string(op_name(n.op));
}

Shape Shape::of(std::initializer_list<Dim> d) {
  Shape s;
  s.n_dims = static_cast<int>(d.size());
  std::copy(d.begin(), d.end(), s.dims.begin());
  return s;
}

SymbolId Graph::add_symbol(const std::string& name) {
  const SymbolId existing = find_symbol(name);
  if (existing >= 0) return existing;
  symbols_.push_back(name);
  return static_cast<SymbolId>(symbols_.size() - 1);
}

SymbolId Graph::find_symbol(const std::string& name) const {
  auto it = std::find(symbols_.begin(), symbols_.end(), name);
  return it == symbols_.end() ? -1 : static_cast<SymbolId>(it - symbols_.begin());
}

NodeId Graph::add(Node n) {
  n.id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(std::move(n));
  return nodes_.back().id;
}

NodeId Graph::find(const std::string& name) const {
  for (const Node& n : nodes_) {
    if (n.name == name) return n.id;
  }
  return -1;
}

TensorDesc Graph::resolve(NodeId id, const Bindings& b) const {
  const Node& n = nodes_[id];
  int64_t dims[kMaxDims] = {1, 1, 1, 1};
  for (int i = 0; i < n.shape.n_dims; ++i) {
    const Dim& d = n.shape.dims[i];
    dims[i] = d.is_symbolic() ? b.at(d.sym) : d.value;
  }
  return TensorDesc::contiguous(n.dtype, dims, n.shape.n_dims);
}

std::vector<NodeId> Graph::topo_order() const {
  // Node ids are already topological (inputs precede users); keep only what outputs need.
  std::vector<bool> live(nodes_.size(), false);
  for (NodeId o : outputs_) live[o] = true;
  for (NodeId i = static_cast<NodeId>(nodes_.size()) - 1; i >= 0; --i) {
    if (!live[i]) continue;
    for (NodeId in : nodes_[i].inputs) {
      if (in >= 0) live[in] = true;
    }
  }
  std::vector<NodeId> order;
  for (NodeId i = 0; i < static_cast<NodeId>(nodes_.size()); ++i) {
    if (live[i]) order.push_back(i);
  }
  return order;
}

Status verify(const Graph& g) {
  if (g.outputs().empty()) return error(ErrorCode::Internal, "graph has no outputs");
  for (const Node& n : g.nodes()) {
    if (n.name.empty())
      return error(ErrorCode::Internal, "node %" + std::to_string(n.id) + " has no name");
    for (int i = 0; i < n.shape.n_dims; ++i) {
      const Dim& d = n.shape.dims[i];
      if (d.is_symbolic() ? d.sym >= static_cast<SymbolId>(g.symbols().size()) : d.value <= 0) {
        return error(ErrorCode::Internal, "node '" + n.name + "' has an invalid dimension");
      }
    }
    if (n.op == OpKind::Weight && !n.weight_data) {
      return error(ErrorCode::Internal, "weight '" + n.name + "' has no data");
    }
    auto r = infer(g, n);
    if (!r.ok()) return r.status();
    if (r->dtype != n.dtype || !(r->shape == n.shape)) {
      return error(ErrorCode::Internal,
                   "node '" + n.name + "' has a dtype or shape that disagrees with its inputs");
    }
  }
  for (NodeId o : g.outputs()) {
    if (o < 0 || o >= static_cast<NodeId>(g.nodes().size()))
      return error(ErrorCode::Internal, "invalid graph output");
  }
  return {};
}

std::string dump(const Graph& g) {
  auto dim_str = [&](const Dim& d) {
    return d.is_symbolic() ? g.symbols()[d.sym] : std::to_string(d.value);
  };
  std::string out;
  for (const Node& n : g.nodes()) {
    out += "%" + std::to_string(n.id) + " " + n.name + " = " + op_label(n) + "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (i) out += ", ";
      out += n.inputs[i] < 0 ? std::string("-") : "%" + std::to_string(n.inputs[i]);
    }
    out += ") " + std::string(dtype_name(n.dtype)) + " [";
    // Outer-first, as the rest of the code comments shapes.
    for (int i = n.shape.n_dims - 1; i >= 0; --i) {
      out += dim_str(n.shape.dims[i]);
      if (i) out += ", ";
    }
    out += "]";
    if (std::find(g.outputs().begin(), g.outputs().end(), n.id) != g.outputs().end())
      out += " (output)";
    out += "\n";
  }
  return out;
}

}  // namespace autoglm::graph
