#include "hal/support_table.h"

namespace autoglm::hal {
namespace {

using graph::Dim;
using graph::Node;
using graph::NodeId;
using graph::OpKind;
using graph::Shape;

constexpr OpKind kComputeOps[] = {OpKind::GetRows,     OpKind::RmsNorm,      OpKind::Mul,
                                  OpKind::Add,         OpKind::Silu,         OpKind::MatMul,
                                  OpKind::Rope,        OpKind::Softmax,      OpKind::KvStore,
                                  OpKind::Attention,   OpKind::RmsNormMul,   OpKind::SwiGlu,
                                  OpKind::RopeKvStore, OpKind::RopeAttention};
constexpr DType kProbeTypes[] = {DType::F32,  DType::F16,  DType::BF16,
                                 DType::Q4_0, DType::Q4_1, DType::Q8_0};

NodeId leaf(graph::Graph& g, OpKind op, DType t, std::initializer_list<Dim> dims) {
  Node n;
  n.op = op;
  n.dtype = t;
  n.shape = Shape::of(dims);
  n.name = "probe_in";
  return g.add(std::move(n));
}

// A small node of `op` whose typed operand is `t`: 2 heads of 64 sharing one KV head, 4 tokens.
bool probe(const Device& d, OpKind op, DType t) {
  graph::Graph g;
  const auto rows = [&](DType dt) {
    return leaf(g, OpKind::Input, dt, {Dim::of(128), Dim::of(4)});
  };
  const auto ids = [&] { return leaf(g, OpKind::Input, DType::I32, {Dim::of(4)}); };
  Node n;
  n.op = op;
  n.name = "probe";
  n.dtype = t;
  n.shape = Shape::of({Dim::of(128), Dim::of(4)});
  n.params.eps = 1e-5f;
  n.params.n_head = 2;
  n.params.n_head_kv = 1;
  n.params.head_dim = 64;
  n.params.n_rot = 64;
  n.params.block_size = 16;
  switch (op) {
    case OpKind::GetRows:
      n.dtype = DType::F32;
      n.inputs = {leaf(g, OpKind::Weight, t, {Dim::of(128), Dim::of(16)}), ids()};
      break;
    case OpKind::MatMul:
      n.dtype = DType::F32;
      n.inputs = {leaf(g, OpKind::Weight, t, {Dim::of(128), Dim::of(64)}), rows(DType::F32)};
      n.shape = Shape::of({Dim::of(64), Dim::of(4)});
      break;
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::RmsNormMul:
      n.inputs = {rows(t), leaf(g, OpKind::Weight, t, {Dim::of(128)})};
      break;
    case OpKind::SwiGlu:
      n.inputs = {rows(t), rows(t)};
      break;
    case OpKind::Rope:
      n.inputs = {rows(t), ids(), -1};
      break;
    case OpKind::KvStore:
    case OpKind::RopeKvStore:
      n.shape = Shape::of({Dim::of(64), Dim::of(64)});
      n.inputs = {leaf(g, OpKind::KvCache, t, {Dim::of(64), Dim::of(64)}),
                  leaf(g, OpKind::Input, DType::F32, {Dim::of(64), Dim::of(4)}), ids()};
      if (op == OpKind::RopeKvStore) {
        n.params.n_head = 1;  // the one KV head of the rows
        n.inputs.insert(n.inputs.end(), {ids(), -1});
      }
      break;
    case OpKind::Attention:
    case OpKind::RopeAttention: {
      n.dtype = DType::F32;
      const NodeId k = leaf(g, OpKind::KvCache, t, {Dim::of(64), Dim::of(64)});
      const NodeId v = leaf(g, OpKind::KvCache, t, {Dim::of(64), Dim::of(64)});
      n.inputs = {rows(DType::F32),
                  k,
                  v,
                  ids(),
                  ids(),
                  leaf(g, OpKind::Input, DType::I32, {Dim::of(4), Dim::of(1)})};
      if (op == OpKind::RopeAttention) n.inputs.push_back(-1);
      break;
    }
    default:  // RmsNorm, Silu, Softmax: one input of the same type
      n.inputs = {rows(t)};
      break;
  }
  const NodeId id = g.add(std::move(n));
  return d.supports(g, g.node(id));
}

}  // namespace

std::vector<OpSupport> support_table(const Device& d) {
  std::vector<OpSupport> out;
  for (OpKind op : kComputeOps) {
    OpSupport s{op, {}};
    for (DType t : kProbeTypes) {
      if (probe(d, op, t)) s.dtypes.push_back(t);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool supports_op(const Device& d, OpKind op, DType t) {
  return probe(d, op, t);
}

std::vector<DType> kv_cache_types(const Device& d) {
  std::vector<DType> out;
  for (DType t : kProbeTypes) {
    if (probe(d, OpKind::KvStore, t) && probe(d, OpKind::Attention, t)) out.push_back(t);
  }
  return out;
}

}  // namespace autoglm::hal
