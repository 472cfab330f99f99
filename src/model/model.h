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

// The paged KV cache a graph reads and writes: n_blocks blocks of block_size token rows per
// layer, and block tables of table_width blocks per sequence.
struct KvLayout {
  int64_t n_blocks = 0;
  int64_t block_size = 16;
  int64_t table_width = 0;
  DType dtype = DType::F16;
};

// The graph of one model instance plus the handles the runtime feeds.
struct ModelGraph {
  graph::Graph graph;
  graph::NodeId tokens = -1, positions = -1, kv_slots = -1, tok_seq = -1, block_tables = -1,
                out_ids = -1, logits = -1;
  graph::SymbolId n_tokens = -1, n_outputs = -1, n_seqs = -1;
  std::vector<graph::PassStats> pass_stats;
};

class Model {
 public:
  // Errors name the file and tell the user what to do (unknown arch lists supported ones).
  static Result<std::unique_ptr<Model>> load(const std::string& path);

  const gguf::File& file() const { return *file_; }
  const HParams& hparams() const { return hp_; }
  const Arch& arch() const { return *arch_; }

  // Builds and optimizes the forward graph over a paged KV cache (state slot 2*layer for K,
  // 2*layer+1 for V, each n_blocks * block_size rows).
  Result<ModelGraph> build_graph(const KvLayout& kv,
                                 const graph::PassManager::Options& passes = {}) const;

 private:
  std::unique_ptr<gguf::File> file_;
  const Arch* arch_ = nullptr;
  HParams hp_;
  WeightTable weights_;
};

}  // namespace autoglm::model
