#include "graph/pass.h"
#include "graph/passes/dce.h"
#include "graph/passes/fuse.h"

namespace autoglm::graph {

Status PassManager::run(Graph& g) {
  AUTOGLM_RETURN_IF_ERROR(verify(g));
  stats_.clear();
  for (auto& pass : passes_) {
    PassStats s{pass->name(), g.nodes().size(), 0};
    AUTOGLM_RETURN_IF_ERROR(pass->run(g));
    Status v = verify(g);
    if (!v.ok()) {
      return error(ErrorCode::Internal, "after pass '" + pass->name() + "': " + v.message());
    }
    s.nodes_after = g.nodes().size();
    stats_.push_back(s);
  }
  return {};
}

PassManager PassManager::standard(const Options& o) {
  PassManager pm;
  if (o.fuse) {
    pm.add(std::make_unique<FuseRmsNormMul>());
    pm.add(std::make_unique<FuseSwiGlu>());
    if (o.fuse_rope) pm.add(std::make_unique<FuseRope>());
  }
  pm.add(std::make_unique<DeadNodeElimination>());
  return pm;
}

}  // namespace autoglm::graph
