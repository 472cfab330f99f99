// Architectures: each one reads its hyper-parameters, declares the weights it needs, and
// builds the forward graph. One file per architecture in archs/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"
#include "graph/builder.h"

namespace autoglm::model {

struct HParams {
  std::string arch;
  int64_t n_layer = 0;
  int64_t n_embd = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-5f;
  int32_t n_rot = 0;
  bool rope_neox = false;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;
};

// One weight the architecture reads: GGUF name and expected dims (innermost first).
struct WeightSpec {
  std::string name;
  std::vector<int64_t> dims;
  bool required = true;
};
using WeightTable = std::vector<WeightSpec>;

// Validated weights: graph values for every present tensor, by GGUF name.
class Weights {
 public:
  void set(const std::string& name, graph::Value v) { values_.emplace_back(name, v); }
  // {-1} when an optional weight is absent.
  graph::Value get(const std::string& name) const;
  bool has(const std::string& name) const { return get(name).id >= 0; }

 private:
  std::vector<std::pair<std::string, graph::Value>> values_;
};

// Graph inputs for one batch of tokens from any number of sequences.
struct BatchView {
  graph::Value tokens;              // [n_tokens] i32
  graph::Value kv_slots;            // [n_tokens] i32: cache row each token's K/V is written to
  graph::Builder::PagedView paged;  // positions, tok_seq, block_tables for attention
  graph::Value out_ids;             // [n_outputs] i32: rows whose logits are wanted
};

// Per-layer K and V cache nodes, [n_slots, n_head_kv * head_dim].
struct KvView {
  std::vector<graph::Value> k;
  std::vector<graph::Value> v;
  int32_t block_size = 0;
};

class Arch {
 public:
  virtual ~Arch() = default;
  virtual std::string name() const = 0;
  virtual Result<HParams> load_hparams(const gguf::File& f) const = 0;
  virtual void declare_weights(WeightTable& table, const HParams& hp) const = 0;
  // Returns the logits node, [n_outputs, n_vocab].
  virtual Result<graph::Value> build(graph::Builder& b, const Weights& w, const HParams& hp,
                                     const BatchView& batch, const KvView& kv) const = 0;
};

// Registry of built-in architectures.
const Arch* find_arch(const std::string& name);
std::vector<std::string> arch_names();

}  // namespace autoglm::model
