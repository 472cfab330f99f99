// A loaded model: the mapped GGUF file, its architecture, hyper-parameters and checked weights.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "gguf/file.h"
#include "graph/graph.h"
#include "graph/pass.h"
#include "model/arch.h"

namespace autoglm::model {

// The graph of one model instance plus the handles the runtime feeds.
struct ModelGraph {
  graph::Graph graph;
  graph::NodeId tokens = -1, positions = -1, out_ids = -1, logits = -1;
  graph::SymbolId n_tokens = -1, n_outputs = -1;
  std::vector<graph::PassStats> pass_stats;
};

class Model {
 public:
  // Errors name the file and tell the user what to do (unknown arch lists supported ones).
  static Result<std::unique_ptr<Model>> load(const std::string& path);

  const gguf::File& file() const { return *file_; }
  const HParams& hparams() const { return hp_; }
  const Arch& arch() const { return *arch_; }

  // Builds and optimizes the forward graph with KV cache nodes of n_ctx rows of kv_dtype
  // (state slot 2*layer for K, 2*layer+1 for V).
  Result<ModelGraph> build_graph(int64_t n_ctx, DType kv_dtype) const;

 private:
  std::unique_ptr<gguf::File> file_;
  const Arch* arch_ = nullptr;
  HParams hp_;
  WeightTable weights_;
};

}  // namespace autoglm::model
