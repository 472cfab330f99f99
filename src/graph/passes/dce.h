// Dead-node elimination: drops nodes no output depends on and renumbers the rest, keeping
// node ids a topological order.
#pragma once

#include "graph/pass.h"

namespace autoglm::graph {

class DeadNodeElimination : public Pass {
 public:
  std::string name() const override { return "dce"; }
  Status run(Graph& g) override;
};

}  // namespace autoglm::graph
