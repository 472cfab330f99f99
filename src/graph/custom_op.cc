#include "graph/custom_op.h"

#include <map>
#include <memory>
#include <mutex>

namespace autoglm::graph {
namespace {

struct Table {
  std::mutex mu;
  // unique_ptr: nodes keep pointers to definitions, which must not move as the map grows.
  std::map<std::string, std::unique_ptr<const CustomOp>, std::less<>> ops;
};

Table& table() {
  static Table t;
  return t;
}

bool is_builtin_name(std::string_view name) {
  for (int k = 0; k < static_cast<int>(OpKind::Custom); ++k) {
    if (op_name(static_cast<OpKind>(k)) == name) return true;
  }
  return name == op_name(OpKind::Custom);
}

}  // namespace

Result<const CustomOp*> register_custom_op(CustomOp op) {
  if (op.name.empty()) return error(ErrorCode::InvalidArgument, "a custom op needs a name");
  if (is_builtin_name(op.name)) {
    return error(ErrorCode::InvalidArgument,
                 "custom op '" + op.name + "' has the name of a built-in op; choose another");
  }
  if (op.n_inputs == 0) {
    return error(ErrorCode::InvalidArgument,
                 "custom op '" + op.name + "' needs at least one input (n_inputs)");
  }
  if (!op.infer) {
    return error(ErrorCode::InvalidArgument,
                 "custom op '" + op.name + "' has no shape rule (CustomOp::infer)");
  }
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.ops.count(op.name)) {
    return error(ErrorCode::InvalidArgument,
                 "custom op '" + op.name + "' is already registered; register each op once");
  }
  auto def = std::make_unique<const CustomOp>(std::move(op));
  const CustomOp* p = def.get();
  t.ops.emplace(p->name, std::move(def));
  return p;
}

const CustomOp* find_custom_op(std::string_view name) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.ops.find(name);
  return it == t.ops.end() ? nullptr : it->second.get();
}

Result<Inferred> same_shape_f32(const Graph& g, const Node& n) {
  const Node& first = g.node(n.inputs.at(0));
  for (NodeId id : n.inputs) {
    const Node& x = g.node(id);
    if (x.dtype != DType::F32 || !(x.shape == first.shape)) {
      return error(ErrorCode::InvalidArgument, "every input must be f32 of the shape of '" +
                                                   first.name + "'; '" + x.name + "' is not");
    }
  }
  return Inferred{DType::F32, first.shape};
}

}  // namespace autoglm::graph
