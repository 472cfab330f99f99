// A split: a maximal run of nodes placed on one device. With one device there is one split;
// the partitioner (heterogeneous execution) cuts more where placement changes.
#pragma once

#include <vector>

#include "graph/graph.h"
#include "hal/device.h"

namespace autoglm::sched {

struct Split {
  hal::Device* device = nullptr;
  std::vector<graph::NodeId> nodes;  // in execution order
};

// Places every node on `device`; Unsupported (naming the node, op and dtypes) if it cannot run one.
Result<std::vector<Split>> single_device_splits(const graph::Graph& g,
                                                const std::vector<graph::NodeId>& order,
                                                hal::Device& device);

}  // namespace autoglm::sched
