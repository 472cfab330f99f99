#include "graph/infer.h"

#include <string>

#include "graph/custom_op.h"

namespace autoglm::graph {
namespace {

Status bad(const Node& n, const std::string& why) {
  return error(ErrorCode::Internal, "graph node '" + n.name + "' (" + op_label(n) + "): " + why);
}

size_t arity(const Node& n) {
  switch (n.op) {
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return 0;
    case OpKind::RmsNorm:
    case OpKind::Silu:
    case OpKind::Softmax:
      return 1;
    case OpKind::Rope:
    case OpKind::KvStore:
      return 3;  // Rope's third may be -1 (no freq factors)
    case OpKind::Attention:
      return 6;
    case OpKind::RopeKvStore:
      return 5;
    case OpKind::RopeAttention:
      return 7;
    case OpKind::Custom:
      return n.params.custom ? n.params.custom->n_inputs : 0;
    default:
      return 2;
  }
}

}  // namespace

Result<Inferred> infer(const Graph& g, const Node& n) {
  if (n.op == OpKind::Custom && !n.params.custom)
    return bad(n, "has no definition (build it with Builder::custom)");
  if (n.inputs.size() != arity(n)) {
    return bad(n, "expects " + std::to_string(arity(n)) + " inputs, has " +
                      std::to_string(n.inputs.size()));
  }
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const NodeId in = n.inputs[i];
    // Rope's freq factors, also as the last input of the ops Rope is fused into.
    const bool optional =
        in == -1 && ((n.op == OpKind::Rope && i == 2) || (n.op == OpKind::RopeKvStore && i == 4) ||
                     (n.op == OpKind::RopeAttention && i == 6));
    if (!optional && (in < 0 || in >= n.id))
      return bad(n, "input " + std::to_string(i) + " is invalid");
  }
  auto in = [&](size_t i) -> const Node& { return g.node(n.inputs[i]); };
  auto f32_2d = [&](const Node& x) { return x.dtype == DType::F32 && x.shape.n_dims <= 2; };
  auto i32_vector_of = [](const Node& x, const Dim& len) {
    return x.dtype == DType::I32 && x.shape.n_dims == 1 && x.shape.dims[0] == len;
  };
  // What is wrong with rotating rows x by the node's rope parameters, or null.
  auto rope_geometry = [&](const Node& x) -> const char* {
    if (n.params.n_head * n.params.head_dim != x.shape.dims[0].value ||
        x.shape.dims[0].is_symbolic()) {
      return "row length is not n_head * head_dim";
    }
    if (n.params.n_rot <= 0 || n.params.n_rot > n.params.head_dim || n.params.n_rot % 2)
      return "n_rot must be even and within head_dim";
    return nullptr;
  };

  switch (n.op) {
    case OpKind::Input:
    case OpKind::Weight:
    case OpKind::KvCache:
      return Inferred{n.dtype, n.shape};
    case OpKind::GetRows: {
      const Node& table = in(0);
      const Node& ids = in(1);
      if (ids.dtype != DType::I32 || ids.shape.n_dims != 1)
        return bad(n, "ids must be a 1-d i32 tensor");
      if (table.shape.n_dims != 2) return bad(n, "table must be 2-d");
      return Inferred{DType::F32, Shape::of({table.shape.dims[0], ids.shape.dims[0]})};
    }
    case OpKind::RmsNorm:
    case OpKind::Silu:
    case OpKind::Softmax:
      if (!f32_2d(in(0))) return bad(n, "input must be 2-d f32");
      return Inferred{DType::F32, in(0).shape};
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::SwiGlu: {
      const Node& a = in(0);
      const Node& b = in(1);
      if (!f32_2d(a) || b.dtype != DType::F32) return bad(n, "inputs must be f32");
      if (!(a.shape.dims[0] == b.shape.dims[0])) return bad(n, "row lengths differ");
      const bool broadcast = b.shape.n_dims == 1 || b.shape.dims[1] == Dim::of(1);
      if (n.op == OpKind::SwiGlu ? !(a.shape == b.shape)
                                 : !broadcast && !(b.shape.dims[1] == a.shape.dims[1])) {
        return bad(n, "row counts differ");
      }
      return Inferred{DType::F32, a.shape};
    }
    case OpKind::RmsNormMul: {
      const Node& x = in(0);
      const Node& w = in(1);
      if (!f32_2d(x) || w.dtype != DType::F32 || w.shape.n_dims != 1 ||
          !(w.shape.dims[0] == x.shape.dims[0])) {
        return bad(n, "expects f32 rows and one f32 weight row of the same length");
      }
      return Inferred{DType::F32, x.shape};
    }
    case OpKind::MatMul: {
      const Node& w = in(0);
      const Node& x = in(1);
      if (w.shape.n_dims != 2 || !f32_2d(x))
        return bad(n, "expects a 2-d weight and 2-d f32 input");
      if (!(w.shape.dims[0] == x.shape.dims[0])) {
        return bad(n, "inner dimensions differ (" + w.name + " vs " + x.name + ")");
      }
      return Inferred{DType::F32, Shape::of({w.shape.dims[1], x.shape.dims[1]})};
    }
    case OpKind::Rope: {
      const Node& x = in(0);
      const Node& pos = in(1);
      if (!f32_2d(x) || pos.dtype != DType::I32)
        return bad(n, "expects f32 rows and i32 positions");
      if (auto bad_rope = rope_geometry(x)) return bad(n, bad_rope);
      return Inferred{DType::F32, x.shape};
    }
    case OpKind::KvStore:
    case OpKind::RopeKvStore: {
      const Node& cache = in(0);
      const Node& src = in(1);
      if (cache.op != OpKind::KvCache) return bad(n, "first input must be a KV cache");
      if (!f32_2d(src) || !(src.shape.dims[0] == cache.shape.dims[0])) {
        return bad(n, "source rows must match the cache row length");
      }
      if (!i32_vector_of(in(2), src.shape.dims[1])) return bad(n, "slots must be [n_tok] i32");
      if (n.op == OpKind::RopeKvStore) {
        if (!i32_vector_of(in(3), src.shape.dims[1]))
          return bad(n, "positions must be [n_tok] i32");
        if (auto bad_rope = rope_geometry(src)) return bad(n, bad_rope);
      }
      return Inferred{cache.dtype, cache.shape};
    }
    case OpKind::Attention:
    case OpKind::RopeAttention: {
      const Node& q = in(0);
      const Node& k = in(1);
      const Node& v = in(2);
      const auto& p = n.params;
      if (!f32_2d(q) || q.shape.dims[0].value != int64_t{p.n_head} * p.head_dim) {
        return bad(n, "q must be [n_tok, n_head * head_dim] f32");
      }
      if (k.shape.dims[0].value != int64_t{p.n_head_kv} * p.head_dim || !(k.shape == v.shape)) {
        return bad(n, "k and v caches must be [n_ctx, n_head_kv * head_dim]");
      }
      if (p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
        return bad(n, "n_head must be a multiple of n_head_kv");
      if (p.block_size <= 0) return bad(n, "block_size must be positive");
      if (!i32_vector_of(in(3), q.shape.dims[1]) || !i32_vector_of(in(4), q.shape.dims[1])) {
        return bad(n, "positions and tok_seq must be [n_tok] i32");
      }
      if (in(5).dtype != DType::I32 || in(5).shape.n_dims != 2)
        return bad(n, "block_tables must be [n_seqs, width] i32");
      if (n.op == OpKind::RopeAttention) {
        if (auto bad_rope = rope_geometry(q)) return bad(n, bad_rope);
      }
      return Inferred{DType::F32, q.shape};
    }
    case OpKind::Custom: {
      auto r = n.params.custom->infer(g, n);
      if (!r.ok()) return bad(n, r.status().message());
      return r;
    }
  }
  return bad(n, "unknown op");
}

}  // namespace autoglm::graph
