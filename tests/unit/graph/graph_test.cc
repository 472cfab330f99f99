#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/custom_op.h"
#include "graph/pass.h"
#include "graph/passes/dce.h"

namespace autoglm::graph {
namespace {

struct Fixture {
  Graph g;
  Builder b{g};
  SymbolId T = g.add_symbol("n_tokens");
  std::vector<float> w_data = std::vector<float>(16 * 8, 0.0f);
  Value x = b.input("x", DType::F32, Shape::of({Dim::of(16), Dim::symbol(T)}));
  Value w = b.weight("w", TensorDesc::contiguous(DType::F32, {16, 8}), w_data.data());
};

TEST(Graph, InfersSymbolicShapes) {
  Fixture f;
  Value y = f.b.matmul(f.w, f.b.rms_norm(f.x, 1e-5f, "norm"), "proj");  // [n_tokens, 8]
  ASSERT_TRUE(f.b.status().ok()) << f.b.status().to_string();
  const Shape& s = f.b.shape(y);
  EXPECT_EQ(s.dims[0], Dim::of(8));
  EXPECT_EQ(s.dims[1], Dim::symbol(f.T));
  f.g.set_outputs({y.id});
  EXPECT_TRUE(verify(f.g).ok());
  TensorDesc d = f.g.resolve(y.id, {5});
  EXPECT_EQ(d.dims[0], 8);
  EXPECT_EQ(d.dims[1], 5);
  EXPECT_EQ(d.bytes(), 8u * 5u * 4u);
}

TEST(Graph, BuilderRejectsMismatchedShapesNamingTheNode) {
  Fixture f;
  Value other = f.b.input("other", DType::F32, Shape::of({Dim::of(8), Dim::symbol(f.T)}));
  Value bad = f.b.matmul(f.w, other, "blk.0.bad_proj");
  EXPECT_EQ(bad.id, -1);
  EXPECT_FALSE(f.b.status().ok());
  EXPECT_NE(f.b.status().message().find("blk.0.bad_proj"), std::string::npos);
  // Later ops do not run once an error is recorded.
  EXPECT_EQ(f.b.silu(f.x, "after").id, -1);
}

TEST(Graph, VerifierCatchesTamperedShapes) {
  Fixture f;
  Value y = f.b.silu(f.x, "act");
  f.g.set_outputs({y.id});
  ASSERT_TRUE(verify(f.g).ok());
  f.g.node(y.id).shape.dims[0] = Dim::of(3);
  Status st = verify(f.g);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("act"), std::string::npos);
}

TEST(Graph, DeadNodeEliminationKeepsTopologicalOrder) {
  Fixture f;
  Value unused = f.b.silu(f.x, "unused");
  Value a = f.b.rms_norm(f.x, 1e-5f, "a");
  Value y = f.b.mul(a, f.b.silu(f.x, "s"), "y");
  (void)unused;
  f.g.set_outputs({y.id});
  const size_t before = f.g.nodes().size();
  PassManager pm = PassManager::standard({.fuse = false});
  ASSERT_TRUE(pm.run(f.g).ok());
  EXPECT_EQ(f.g.nodes().size(), before - 2);  // "unused" and the unread weight
  EXPECT_EQ(f.g.find("unused"), -1);
  for (const Node& n : f.g.nodes()) {
    for (NodeId in : n.inputs) EXPECT_LT(in, n.id) << n.name;
  }
  EXPECT_EQ(f.g.node(f.g.outputs()[0]).name, "y");
  ASSERT_EQ(pm.stats().size(), 1u);
  EXPECT_EQ(pm.stats()[0].nodes_before, before);
}

TEST(Graph, FusionRewritesNormTimesWeightAndSwiGlu) {
  Fixture f;
  std::vector<float> norm_data(16, 1.0f);
  Value norm_w =
      f.b.weight("norm.weight", TensorDesc::contiguous(DType::F32, {16}), norm_data.data());
  Value h = f.b.mul(f.b.rms_norm(f.x, 1e-5f, "norm.rms"), norm_w, "norm");
  Value gate = f.b.silu(h, "gate_silu");
  Value y = f.b.mul(gate, h, "swiglu");
  Value shared = f.b.rms_norm(f.x, 1e-5f, "shared.rms");  // two users: stays as it is
  Value z = f.b.add(f.b.mul(shared, norm_w, "shared"), shared, "z");
  f.g.set_outputs({y.id, z.id});
  PassManager pm = PassManager::standard({});
  const Status st = pm.run(f.g);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(f.g.node(f.g.find("norm")).op, OpKind::RmsNormMul);
  EXPECT_EQ(f.g.node(f.g.find("swiglu")).op, OpKind::SwiGlu);
  EXPECT_EQ(f.g.node(f.g.find("shared")).op, OpKind::Mul);
  EXPECT_EQ(f.g.find("norm.rms"), -1);
  EXPECT_EQ(f.g.find("gate_silu"), -1);
  EXPECT_GE(f.g.find("shared.rms"), 0);
  ASSERT_EQ(pm.stats().size(), 4u);  // the two above, fuse_rope, dead node elimination
  EXPECT_EQ(pm.stats()[3].nodes_before - pm.stats()[3].nodes_after, 3u);  // two fused + weight w
}

// One attention block: RoPE on q goes into Attention, RoPE on k into its KV store; a Rope read
// twice, or by positions other than the attention's, stays a Rope.
TEST(Graph, FusionPutsRopeIntoTheKvStoreAndTheAttention) {
  Graph g;
  Builder b{g};
  const SymbolId T = g.add_symbol("n_tokens");
  const SymbolId S = g.add_symbol("n_seqs");
  const Shape tok = Shape::of({Dim::symbol(T)});
  OpParams rp;
  rp.n_rot = 64;
  rp.head_dim = 64;
  rp.freq_base = 10000.0f;
  OpParams ap = rp;
  ap.n_head = 2;
  ap.n_head_kv = 1;
  ap.block_size = 16;
  const Value q = b.input("q", DType::F32, Shape::of({Dim::of(128), Dim::symbol(T)}));
  const Value k = b.input("k", DType::F32, Shape::of({Dim::of(64), Dim::symbol(T)}));
  const Value pos = b.input("pos", DType::I32, tok);
  const Value other_pos = b.input("other_pos", DType::I32, tok);
  const Builder::PagedView paged{
      pos, b.input("tok_seq", DType::I32, tok),
      b.input("tables", DType::I32, Shape::of({Dim::of(4), Dim::symbol(S)}))};
  const Value slots = b.input("slots", DType::I32, tok);
  const Shape cache = Shape::of({Dim::of(64), Dim::of(64)});
  const Value kc = b.kv_cache("k_cache", DType::F16, cache, 0);
  const Value vc = b.kv_cache("v_cache", DType::F16, cache, 1);
  rp.n_head = 2;
  const Value q_rope = b.rope(q, pos, {-1}, rp, "q_rope");
  rp.n_head = 1;
  const Value k_rope = b.rope(k, pos, {-1}, rp, "k_rope");
  const Value ks = b.kv_store(kc, k_rope, slots, "k_store");
  const Value vs = b.kv_store(vc, k, slots, "v_store");
  const Value a = b.attention(q_rope, ks, vs, paged, ap, "attn");
  rp.n_head = 2;
  const Value q_other = b.rope(q, other_pos, {-1}, rp, "q_other");  // not the attention's positions
  const Value a2 = b.attention(q_other, ks, vs, paged, ap, "attn_other");
  ASSERT_TRUE(b.status().ok()) << b.status().to_string();
  g.set_outputs({a.id, a2.id});
  PassManager pm = PassManager::standard({});
  const Status st = pm.run(g);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(g.node(g.find("attn")).op, OpKind::RopeAttention);
  EXPECT_EQ(g.node(g.find("k_store")).op, OpKind::RopeKvStore);
  EXPECT_EQ(g.node(g.find("v_store")).op, OpKind::KvStore);
  EXPECT_EQ(g.node(g.find("attn_other")).op, OpKind::Attention);
  EXPECT_EQ(g.find("q_rope"), -1);
  EXPECT_EQ(g.find("k_rope"), -1);
  EXPECT_GE(g.find("q_other"), 0);
  // The fused attention reads q itself and the K store the unrotated k.
  EXPECT_EQ(g.node(g.find("attn")).inputs[0], g.find("q"));
  EXPECT_EQ(g.node(g.find("k_store")).inputs[1], g.find("k"));
}

TEST(Graph, DumpNamesEveryNode) {
  Fixture f;
  Value y = f.b.matmul(f.w, f.x, "blk.0.attn_q");
  f.g.set_outputs({y.id});
  const std::string d = dump(f.g);
  EXPECT_NE(d.find("blk.0.attn_q = MatMul(%1, %0) f32 [n_tokens, 8] (output)"), std::string::npos)
      << d;
}

// A registered op is built, verified and dumped by its own rule and name.
TEST(Graph, CustomOpsFollowTheirRegisteredRule) {
  static const CustomOp* twice = *register_custom_op(
      {"graph_test.twice", 1, [](const Graph& g, const Node& n) {
         return Result<Inferred>(Inferred{DType::F32, g.node(n.inputs[0]).shape});
       }});
  Fixture f;
  Value y = f.b.custom(*twice, {f.x}, "blk.0.twice");
  ASSERT_TRUE(f.b.status().ok()) << f.b.status().to_string();
  EXPECT_EQ(f.b.shape(y), f.b.shape(f.x));
  f.g.set_outputs({y.id});
  ASSERT_TRUE(verify(f.g).ok());
  EXPECT_NE(dump(f.g).find("blk.0.twice = graph_test.twice(%0) f32 [n_tokens, 16] (output)"),
            std::string::npos)
      << dump(f.g);
  f.g.node(y.id).inputs.push_back(f.x.id);  // the rule says one input
  const Status st = verify(f.g);
  EXPECT_NE(st.message().find("'blk.0.twice' (graph_test.twice): expects 1 inputs, has 2"),
            std::string::npos)
      << st.message();
  f.g.node(y.id).inputs.pop_back();
  f.g.node(y.id).params.custom = nullptr;
  EXPECT_FALSE(verify(f.g).ok());
}

}  // namespace
}  // namespace autoglm::graph
