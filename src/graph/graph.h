// The graph IR: named nodes with symbolic shapes. Shapes are innermost-first as in GGUF
// (dims[0] is the contiguous dimension); comments write them outer-first, e.g. [n_tok, n_embd].
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/tensor_desc.h"
#include "graph/op.h"

namespace autoglm::graph {

using NodeId = int32_t;
using SymbolId = int32_t;

// A dimension: a constant, or a named symbol (n_tokens, n_outputs) bound when a plan is made.
struct Dim {
  int64_t value = 1;
  SymbolId sym = -1;
  static Dim of(int64_t v) { return {v, -1}; }
  static Dim symbol(SymbolId s) { return {0, s}; }
  bool is_symbolic() const { return sym >= 0; }
  bool operator==(const Dim&) const = default;
};

struct Shape {
  int n_dims = 1;
  std::array<Dim, kMaxDims> dims{};
  static Shape of(std::initializer_list<Dim> d);  // innermost first
  bool operator==(const Shape&) const = default;
};

struct Node {
  NodeId id = -1;
  OpKind op = OpKind::Input;
  std::string name;  // "blk.3.attn_norm"
  DType dtype = DType::F32;
  Shape shape;
  std::vector<NodeId> inputs;
  OpParams params;
  // Weight: the model's bytes (zero-copy into the mapped file).
  const void* weight_data = nullptr;
  // KvCache: which slot the session binds (layer * 2 + {0: K, 1: V}).
  int32_t state_slot = -1;
};

// The op's name for people: a custom op's registered name ("scaled_add"), else op_name(n.op).
std::string op_label(const Node& n);

// Concrete values for every symbol of a graph; the plan cache key.
using Bindings = std::vector<int64_t>;

class Graph {
 public:
  SymbolId add_symbol(const std::string& name);
  const std::vector<std::string>& symbols() const { return symbols_; }
  SymbolId find_symbol(const std::string& name) const;

  NodeId add(Node n);
  Node& node(NodeId id) { return nodes_[id]; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& mutable_nodes() { return nodes_; }

  void set_outputs(std::vector<NodeId> outs) { outputs_ = std::move(outs); }
  const std::vector<NodeId>& outputs() const { return outputs_; }
  NodeId find(const std::string& name) const;  // -1 if absent

  // Concrete dims of a node's shape under the bindings.
  TensorDesc resolve(NodeId id, const Bindings& b) const;
  // Ids in a topological order (inputs before users), outputs reachable only.
  std::vector<NodeId> topo_order() const;

 private:
  std::vector<std::string> symbols_;
  std::vector<Node> nodes_;
  std::vector<NodeId> outputs_;
};

// Checks every node: input ids valid and earlier in topological order, arity, dtypes and
// shapes consistent with the op. The message names the offending node.
Status verify(const Graph& g);

// Human-readable dump: one line per node, "%12 blk.0.attn_q = MatMul(%3, %11) f32 [576, n_tokens]";
// custom ops show their registered name.
std::string dump(const Graph& g);

}  // namespace autoglm::graph
