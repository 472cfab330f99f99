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

Status FuseRope::run(Graph& g) {
  const std::vector<int> uses = use_counts(g);
  // The Rope node feeding input `slot` of n, when n is its only user.
  auto sole_rope = [&](const Node& n, size_t slot) -> const Node* {
    const NodeId in = n.inputs[slot];
    if (in < 0 || g.node(in).op != OpKind::Rope || uses[in] != 1) return nullptr;
    return &g.node(in);
  };
  auto take_rope_params = [](Node& n, const Node& rope) {
    n.params.n_rot = rope.params.n_rot;
    n.params.neox = rope.params.neox;
    n.params.freq_base = rope.params.freq_base;
    n.params.freq_scale = rope.params.freq_scale;
    n.params.n_head = rope.params.n_head;
    n.params.head_dim = rope.params.head_dim;
  };
  for (Node& n : g.mutable_nodes()) {
    if (n.op == OpKind::KvStore) {
      const Node* rope = sole_rope(n, 1);  // [n_tok, n_head_kv * head_dim]
      if (!rope) continue;
      n.op = OpKind::RopeKvStore;
      take_rope_params(n, *rope);
      n.inputs = {n.inputs[0], rope->inputs[0], n.inputs[2], rope->inputs[1], rope->inputs[2]};
    } else if (n.op == OpKind::Attention) {
      const Node* rope = sole_rope(n, 0);  // [n_tok, n_head * head_dim]
      // Attention's positions (input 3) say which rows each token sees; RoPE must use the same.
      if (!rope || rope->inputs[1] != n.inputs[3] || rope->params.n_head != n.params.n_head)
        continue;
      n.op = OpKind::RopeAttention;
      take_rope_params(n, *rope);
      n.inputs[0] = rope->inputs[0];
      n.inputs.push_back(rope->inputs[2]);
    }
  }
  return {};
}

}  // namespace autoglm::graph
