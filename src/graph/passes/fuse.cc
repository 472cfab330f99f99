#include "graph/passes/fuse.h"

#include <vector>

namespace autoglm::graph {
namespace {

// Uses of each node by other nodes and by the graph's outputs.
std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(g.nodes().size(), 0);
  for (const Node& n : g.nodes()) {
    for (NodeId in : n.inputs) {
      if (in >= 0) ++uses[in];
    }
  }
  for (NodeId o : g.outputs()) ++uses[o];
  return uses;
}

// Calls rewrite(mul, producer) for every Mul whose first input is an op of kind `first` used
// only by that Mul: the producer's value never needs to exist on its own.
template <typename Fn>
void for_each_mul_of(Graph& g, OpKind first, Fn rewrite) {
  const std::vector<int> uses = use_counts(g);
  for (Node& n : g.mutable_nodes()) {
    if (n.op != OpKind::Mul || n.inputs[0] < 0) continue;
    const Node& a = g.node(n.inputs[0]);
    if (a.op == first && uses[a.id] == 1) rewrite(n, a);
  }
}

}  // namespace

Status FuseRmsNormMul::run(Graph& g) {
  for_each_mul_of(g, OpKind::RmsNorm, [&](Node& mul, const Node& norm) {
    const Node& w = g.node(mul.inputs[1]);
    if (w.op != OpKind::Weight || w.shape.n_dims != 1) return;
    mul.op = OpKind::RmsNormMul;
    mul.params.eps = norm.params.eps;
    mul.inputs[0] = norm.inputs[0];
  });
  return {};
}

Status FuseSwiGlu::run(Graph& g) {
  for_each_mul_of(g, OpKind::Silu, [&](Node& mul, const Node& silu) {
    if (!(g.node(mul.inputs[1]).shape == silu.shape)) return;
    mul.op = OpKind::SwiGlu;
    mul.inputs[0] = silu.inputs[0];
  });
  return {};
}

}  // namespace autoglm::graph
