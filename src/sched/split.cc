#include "sched/split.h"

namespace autoglm::sched {

Result<std::vector<Split>> single_device_splits(const graph::Graph& g,
                                                const std::vector<graph::NodeId>& order,
                                                hal::Device& device) {
  Split s;
  s.device = &device;
  for (graph::NodeId id : order) {
    const graph::Node& n = g.node(id);
    if (!device.supports(g, n)) {
      std::string dtypes;
      for (graph::NodeId in : n.inputs) {
        if (in >= 0)
          dtypes += (dtypes.empty() ? "" : ", ") + std::string(dtype_name(g.node(in).dtype));
      }
      return error(ErrorCode::Unsupported,
                   "device '" + device.props().name + "' cannot run node '" + n.name + "' (" +
                       std::string(graph::op_name(n.op)) + " on " + dtypes + ")");
    }
    s.nodes.push_back(id);
  }
  return std::vector<Split>{std::move(s)};
}

}  // namespace autoglm::sched
