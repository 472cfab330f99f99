// Graph passes and the manager that runs them in order, verifying after each.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace autoglm::graph {

struct PassStats {
  std::string pass;
  size_t nodes_before = 0;
  size_t nodes_after = 0;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  // Rewrites g in place; a pass must leave a graph that verifies.
  virtual Status run(Graph& g) = 0;
};

class PassManager {
 public:
  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  Status run(Graph& g);
  const std::vector<PassStats>& stats() const { return stats_; }

  // The default pipeline for inference graphs; fusion only where every device that will run the
  // graph implements the fused ops.
  struct Options {
    bool fuse = true;
    bool fuse_rope = true;  // RoPE into the KV store and attention (needs their fused kernels)
  };
  static PassManager standard(const Options& o);

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassStats> stats_;
};

}  // namespace autoglm::graph
