#include "graph/passes/dce.h"

namespace autoglm::graph {

Status DeadNodeElimination::run(Graph& g) {
  const std::vector<NodeId> live = g.topo_order();
  std::vector<NodeId> remap(g.nodes().size(), -1);
  std::vector<Node> kept;
  kept.reserve(live.size());
  for (NodeId old_id : live) {
    Node n = g.node(old_id);
    n.id = static_cast<NodeId>(kept.size());
    for (NodeId& in : n.inputs) {
      if (in >= 0) in = remap[in];
    }
    remap[old_id] = n.id;
    kept.push_back(std::move(n));
  }
  std::vector<NodeId> outs = g.outputs();
  for (NodeId& o : outs) o = remap[o];
  g.mutable_nodes() = std::move(kept);
  g.set_outputs(std::move(outs));
  return {};
}

}  // namespace autoglm::graph
