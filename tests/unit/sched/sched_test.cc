#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "backends/cpu/cpu_device.h"
#include "graph/builder.h"
#include "sched/executor.h"
#include "sched/memory_plan.h"

namespace autoglm::sched {
namespace {

using graph::Dim;
using graph::Shape;

// A chain of n elementwise ops on [n_tokens, 64]: only neighbours are live together.
graph::Graph chain(int n) {
  graph::Graph g;
  graph::Builder b(g);
  const auto T = g.add_symbol("n_tokens");
  graph::Value x = b.input("x", DType::F32, Shape::of({Dim::of(64), Dim::symbol(T)}));
  graph::Value y = x;
  for (int i = 0; i < n; ++i) y = b.silu(y, "silu." + std::to_string(i));
  g.set_outputs({y.id});
  return g;
}

// A CPU device under another name that refuses some ops: a second device for placement tests.
class PickyDevice : public hal::Device {
 public:
  PickyDevice(std::string name, std::set<graph::OpKind> refused)
      : cpu_(1), name_(std::move(name)), refused_(std::move(refused)) {}
  hal::DeviceProps props() const override {
    hal::DeviceProps p = cpu_.props();
    p.name = name_;
    return p;
  }
  bool supports(const graph::Graph& g, const graph::Node& n) const override {
    return !refused_.count(n.op) && cpu_.supports(g, n);
  }
  hal::BufferType& buffer_type() override { return cpu_.buffer_type(); }
  std::unique_ptr<hal::Stream> create_stream() override { return cpu_.create_stream(); }

 private:
  cpu::CpuDevice cpu_;
  std::string name_;
  std::set<graph::OpKind> refused_;
};

std::unique_ptr<Executor> executor_on(const graph::Graph& g, hal::Device& dev) {
  PlacementOptions po;
  po.devices = {&dev};
  auto ex = Executor::create(g, po, {});
  EXPECT_TRUE(ex.ok()) << ex.status().to_string();
  return ex.ok() ? std::move(*ex) : nullptr;
}

TEST(MemoryPlan, LiveTensorsNeverOverlapAndDeadOnesShare) {
  graph::Graph g = chain(10);
  const auto order = g.topo_order();
  const MemoryPlan plan = plan_memory(g, order, {4}, 64);
  const size_t t_bytes = 64 * 4 * 4;
  EXPECT_EQ(plan.naive_bytes, 11 * t_bytes);
  EXPECT_LE(plan.arena_bytes, 3 * t_bytes);  // input, current, next at most
  // Each op's input and output must not overlap.
  for (const graph::Node& n : g.nodes()) {
    for (graph::NodeId in : n.inputs) {
      const size_t a = plan.offsets[in], b = plan.offsets[n.id];
      EXPECT_TRUE(a + t_bytes <= b || b + t_bytes <= a) << n.name;
    }
  }
}

TEST(MemoryPlan, OutputsStayLiveToTheEnd) {
  graph::Graph g;
  graph::Builder b(g);
  graph::Value x = b.input("x", DType::F32, Shape::of({Dim::of(32)}));
  graph::Value early = b.silu(x, "early");
  graph::Value y = b.silu(x, "y");
  for (int i = 0; i < 4; ++i) y = b.silu(y, "s" + std::to_string(i));
  g.set_outputs({early.id, y.id});
  const MemoryPlan plan = plan_memory(g, g.topo_order(), {}, 64);
  for (const graph::Node& n : g.nodes()) {
    if (n.id == early.id) continue;
    const bool overlaps = plan.offsets[n.id] < plan.offsets[early.id] + 128 &&
                          plan.offsets[early.id] < plan.offsets[n.id] + 128;
    EXPECT_FALSE(overlaps) << n.name << " reuses the bytes of an output";
  }
}

TEST(Executor, RunsAChainAndCachesPlansPerShape) {
  graph::Graph g = chain(3);
  cpu::CpuDevice dev(2);
  auto exp = executor_on(g, dev);
  Executor& ex = *exp;
  for (int64_t T : {5, 2, 5, 2, 2}) {  // largest first: the shared arena never grows
    std::vector<float> in(static_cast<size_t>(64 * T));
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 13) - 6.0f;
    const Executor::Input inputs[] = {
        {0, {reinterpret_cast<const uint8_t*>(in.data()), in.size() * sizeof(float)}}};
    auto plan = ex.run({T}, inputs);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    const auto* out = static_cast<const float*>((*plan)->tensors[g.outputs()[0]].data);
    for (size_t i = 0; i < in.size(); ++i) {
      float y = in[i];
      for (int k = 0; k < 3; ++k) y = y / (1.0f + std::exp(-y));
      ASSERT_NEAR(out[i], y, 1e-5f * std::max(1.0f, std::abs(y)));
    }
  }
  EXPECT_EQ(ex.stats().plans_built, 2u);
  EXPECT_EQ(ex.stats().runs, 5u);
}

TEST(Executor, PlanCacheIsBoundedLeastRecentlyUsedFirst) {
  graph::Graph g = chain(1);
  cpu::CpuDevice dev(1);
  auto exp = executor_on(g, dev);
  Executor& ex = *exp;
  ASSERT_TRUE(ex.plan_for({1000}).ok());  // sizes the shared arena once
  const int64_t hot = 1;
  const int64_t n = static_cast<int64_t>(Executor::kMaxPlans) + 20;
  for (int64_t T = 2; T < 2 + n; ++T) {
    ASSERT_TRUE(ex.plan_for({T}).ok());
    ASSERT_TRUE(ex.plan_for({hot}).ok());  // stays recent, never rebuilt
  }
  const size_t built = static_cast<size_t>(n) + 2;
  EXPECT_EQ(ex.stats().plans_built, built);
  EXPECT_EQ(ex.stats().plans_evicted, built - Executor::kMaxPlans);
}

TEST(Executor, GrowingTheArenaDropsPlansIntoTheOldOne) {
  graph::Graph g = chain(1);
  cpu::CpuDevice dev(1);
  auto exp = executor_on(g, dev);
  Executor& ex = *exp;
  ASSERT_TRUE(ex.plan_for({2}).ok());
  ASSERT_TRUE(ex.plan_for({1}).ok());  // fits: cached beside the first
  EXPECT_EQ(ex.stats().plans_evicted, 0u);
  ASSERT_TRUE(ex.plan_for({64}).ok());  // needs a bigger arena
  EXPECT_EQ(ex.stats().plans_evicted, 2u);
  ASSERT_TRUE(ex.plan_for({2}).ok());
  EXPECT_EQ(ex.stats().plans_built, 4u);
}

TEST(Placement, UnsupportedNodeIsNamedUnderPolicyError) {
  graph::Graph g;
  graph::Builder b(g);
  std::vector<uint8_t> w(dtype_row_bytes(DType::Q5_0, 32) * 4);
  graph::Value x = b.input("x", DType::F32, Shape::of({Dim::of(32), Dim::of(1)}));
  graph::Value wt =
      b.weight("blk.0.odd.weight", TensorDesc::contiguous(DType::Q5_0, {32, 4}), w.data());
  graph::Value y = b.matmul(wt, x, "blk.0.odd");
  g.set_outputs({y.id});
  cpu::CpuDevice dev(1);
  PlacementOptions po;
  po.devices = {&dev};
  po.policy = FallbackPolicy::Error;
  auto ex = Executor::create(g, po, {});
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(ex.status().message().find("device 'cpu' cannot run node 'blk.0.odd' (MatMul on "
                                       "q5_0, f32)"),
            std::string::npos)
      << ex.status().message();
}

// silu, mul, silu, mul, ... on a device that refuses Mul: under policy cpu every Mul falls back,
// the graph ping-pongs between the devices, and the result is the single-device one.
graph::Graph ping_pong(int n) {
  graph::Graph g;
  graph::Builder b(g);
  const auto T = g.add_symbol("n_tokens");
  graph::Value x = b.input("x", DType::F32, Shape::of({Dim::of(64), Dim::symbol(T)}));
  graph::Value y = x;
  for (int i = 0; i < n; ++i) {
    y = b.silu(y, "silu." + std::to_string(i));
    y = b.mul(y, x, "mul." + std::to_string(i));
  }
  g.set_outputs({y.id});
  return g;
}

TEST(Placement, FallbackCutsTheGraphAndKeepsTheResult) {
  graph::Graph g = ping_pong(4);
  PickyDevice picky("picky", {graph::OpKind::Mul});
  cpu::CpuDevice cpu(2);
  PlacementOptions po;
  po.devices = {&picky};
  po.fallback = &cpu;
  auto ex = Executor::create(g, po, {});
  ASSERT_TRUE(ex.ok()) << ex.status().to_string();
  const Placement& pl = (*ex)->placement();
  EXPECT_EQ(pl.splits.size(), 8u);
  EXPECT_EQ(pl.fallbacks.size(), 4u);
  for (size_t i = 0; i < pl.splits.size(); ++i)
    EXPECT_EQ(pl.splits[i].device, i % 2 ? static_cast<hal::Device*>(&cpu) : &picky) << i;
  EXPECT_EQ(pl.device_of[g.find("x")], &picky);  // inputs follow their first consumer

  auto single = executor_on(g, cpu);
  const int64_t T = 3;
  std::vector<float> in(static_cast<size_t>(64 * T));
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 11) * 0.25f - 1.0f;
  const Executor::Input inputs[] = {
      {g.find("x"), {reinterpret_cast<const uint8_t*>(in.data()), in.size() * sizeof(float)}}};
  auto mixed_plan = (*ex)->run({T}, inputs);
  ASSERT_TRUE(mixed_plan.ok()) << mixed_plan.status().to_string();
  // Seven cuts, each moving one [T, 64] f32 tensor; x itself is an input, read in place.
  EXPECT_EQ((*mixed_plan)->crossing_bytes, 7u * 64 * T * sizeof(float));
  const auto* mixed = static_cast<const float*>((*mixed_plan)->tensors[g.outputs()[0]].data);
  const std::vector<float> mixed_out(mixed, mixed + in.size());
  auto single_plan = single->run({T}, inputs);
  ASSERT_TRUE(single_plan.ok());
  const auto* want = static_cast<const float*>((*single_plan)->tensors[g.outputs()[0]].data);
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(mixed_out[i], want[i]) << i;
}

TEST(Placement, PolicyErrorNamesTheRefusingDevice) {
  graph::Graph g = ping_pong(1);
  PickyDevice picky("picky", {graph::OpKind::Mul});
  cpu::CpuDevice cpu(1);
  PlacementOptions po;
  po.devices = {&picky};
  po.fallback = &cpu;
  po.policy = FallbackPolicy::Error;
  auto ex = Executor::create(g, po, {});
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.status().message().find("device 'picky' cannot run node 'mul.0' (Mul on f32, f32)"),
            std::string::npos)
      << ex.status().message();
}

TEST(Placement, ParsesThePolicyNamingTheAcceptedValues) {
  EXPECT_EQ(*parse_fallback_policy("cpu"), FallbackPolicy::Cpu);
  EXPECT_EQ(*parse_fallback_policy("error"), FallbackPolicy::Error);
  auto bad = parse_fallback_policy("gpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("accepted: cpu, error"), std::string::npos);
}

}  // namespace
}  // namespace autoglm::sched
