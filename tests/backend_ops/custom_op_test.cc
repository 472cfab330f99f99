// Custom operators end to end: an op registered at run time with a CPU and an OpenCL kernel is
// placed on OpenCL when it comes first and computes the CPU's result; an op with only a CPU
// kernel falls back to the CPU under policy cpu and is named under policy error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <span>

#include "core/thread_pool.h"
#include "graph/builder.h"
#include "graph/custom_op.h"
#include "hal/custom_kernels.h"
#include "sched/executor.h"

#include "test_registry.h"

namespace autoglm {
namespace {

using graph::Dim;
using graph::Shape;

float* f32(const hal::TensorRef& t) {
  return static_cast<float*>(t.data);
}

// y = a + scale * b, element-wise.
const graph::CustomOp& scaled_add() {
  static const graph::CustomOp* op =
      *graph::register_custom_op({"scaled_add", 2, graph::same_shape_f32});
  return *op;
}

REGISTER_OPERATOR_CPU("scaled_add", [](const hal::NodeExec& ne, int ith, int nth) {
  int64_t i0, i1;
  ThreadPool::split(ne.out.desc.elements(), ith, nth, &i0, &i1);
  const float scale = ne.node->params.scale;
  for (int64_t i = i0; i < i1; ++i) f32(ne.out)[i] = f32(ne.in[0])[i] + scale * f32(ne.in[1])[i];
});

constexpr const char* kScaledAddCl = R"CL(
kernel void scaled_add(global const uchar* a, ulong a_off, global const uchar* b, ulong b_off,
                       global uchar* y, ulong y_off, float scale) {
  const size_t i = get_global_id(0);
  ((global float*)(y + y_off))[i] =
      ((global const float*)(a + a_off))[i] + scale * ((global const float*)(b + b_off))[i];
}
)CL";

REGISTER_OPERATOR_OPENCL("scaled_add",
                         {kScaledAddCl, "scaled_add", nullptr, [](const hal::NodeExec& ne) {
                            return std::vector<hal::SourceKernel::Scalar>{ne.node->params.scale};
                          }});

// y = x * x, with a CPU kernel only.
const graph::CustomOp& square() {
  static const graph::CustomOp* op =
      *graph::register_custom_op({"cpu_only_square", 1, graph::same_shape_f32});
  return *op;
}

REGISTER_OPERATOR_CPU("cpu_only_square", [](const hal::NodeExec& ne, int ith, int nth) {
  int64_t i0, i1;
  ThreadPool::split(ne.out.desc.elements(), ith, nth, &i0, &i1);
  for (int64_t i = i0; i < i1; ++i) f32(ne.out)[i] = f32(ne.in[0])[i] * f32(ne.in[0])[i];
});

constexpr int64_t kRow = 67, kRows = 3;  // odd sizes: no kernel may assume a multiple of 4

// x, y: [3, 67] inputs; custom = op(x[, y]); out = custom + x.
struct Net {
  graph::Graph g;
  graph::Value x, y, custom, out;
  bool uses_y = false;
  Net(const graph::CustomOp& op, float scale) {
    graph::Builder b(g);
    const Shape s = Shape::of({Dim::of(kRow), Dim::of(kRows)});
    x = b.input("x", DType::F32, s);
    y = b.input("y", DType::F32, s);
    graph::OpParams p;
    p.scale = scale;
    std::vector<graph::Value> in = {x};
    uses_y = op.n_inputs == 2;
    if (uses_y) in.push_back(y);
    custom = b.custom(op, in, "blk.0.custom", p);
    out = b.add(custom, x, "blk.0.out");
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    g.set_outputs({out.id});
  }
};

std::vector<float> ramp(float step, float offset) {
  std::vector<float> v(static_cast<size_t>(kRow * kRows));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i) * step) + offset;
  return v;
}

std::span<const uint8_t> bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

// Runs the net and returns its output.
std::vector<float> run(sched::Executor& ex, const Net& net, const std::vector<float>& x,
                       const std::vector<float>& y) {
  std::vector<sched::Executor::Input> inputs = {{net.x.id, bytes(x)}};
  if (net.uses_y) inputs.push_back({net.y.id, bytes(y)});
  auto plan = ex.run({}, inputs);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  if (!plan.ok()) return {};
  const float* out = f32((*plan)->tensors[net.out.id]);
  return {out, out + x.size()};
}

class CustomOp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cpu = testing::all_backends().create("cpu", {2});
    ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
    cpu_ = std::move(*cpu);
    auto cl = testing::all_backends().create("opencl", {});
    if (cl.ok()) opencl_ = std::move(*cl);
  }
  std::unique_ptr<hal::Device> cpu_, opencl_;
};

TEST_F(CustomOp, DumpAndErrorsShowTheRegisteredName) {
  Net net(scaled_add(), 0.5f);
  EXPECT_NE(graph::dump(net.g).find("blk.0.custom = scaled_add(%0, %1) f32 [3, 67]"),
            std::string::npos)
      << graph::dump(net.g);
  EXPECT_TRUE(graph::verify(net.g).ok());
  graph::Graph bad;
  graph::Builder b(bad);
  const graph::Value x = b.input("x", DType::F32, Shape::of({Dim::of(4)}));
  const graph::Value z = b.input("z", DType::F32, Shape::of({Dim::of(5)}));
  b.custom(scaled_add(), {x, z}, "mismatch");
  EXPECT_NE(b.status().message().find("graph node 'mismatch' (scaled_add): every input must be"),
            std::string::npos)
      << b.status().message();
}

TEST_F(CustomOp, RegistrationRefusesDuplicatesAndBuiltinNames) {
  scaled_add();
  EXPECT_EQ(graph::find_custom_op("scaled_add"), &scaled_add());
  EXPECT_FALSE(graph::register_custom_op({"scaled_add", 2, graph::same_shape_f32}).ok());
  EXPECT_FALSE(graph::register_custom_op({"MatMul", 2, graph::same_shape_f32}).ok());
  EXPECT_FALSE(graph::register_custom_op({"no_rule", 1, nullptr}).ok());
  EXPECT_FALSE(hal::CustomKernels::global().add("cpu", "scaled_add", hal::HostKernel{}).ok());
  const Status twice = hal::CustomKernels::global().add(
      "cpu", "scaled_add", hal::HostKernel{[](const hal::NodeExec&, int, int) {}});
  EXPECT_NE(twice.message().find("already has a cpu kernel"), std::string::npos);
  // Registries made in the host hand plugins the process's table.
  EXPECT_EQ(&testing::all_backends().custom_kernels(), &hal::CustomKernels::global());
}

TEST_F(CustomOp, RunsOnCpu) {
  Net net(scaled_add(), 0.5f);
  sched::PlacementOptions po;
  po.devices = {cpu_.get()};
  auto ex = sched::Executor::create(net.g, po, {});
  ASSERT_TRUE(ex.ok()) << ex.status().to_string();
  const std::vector<float> x = ramp(0.1f, 0.0f), y = ramp(0.37f, 1.0f);
  const std::vector<float> out = run(**ex, net, x, y);
  ASSERT_EQ(out.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_FLOAT_EQ(out[i], (x[i] + 0.5f * y[i]) + x[i]) << i;
}

TEST_F(CustomOp, RunsOnOpenClWhenItComesFirst) {
  if (!opencl_) GTEST_SKIP() << "no OpenCL device";
  Net net(scaled_add(), -1.5f);
  ASSERT_TRUE(opencl_->supports(net.g, net.g.node(net.custom.id)))
      << "the plugin does not see the host's kernel table";
  sched::PlacementOptions po;
  po.devices = {opencl_.get(), cpu_.get()};
  po.fallback = cpu_.get();
  auto ex = sched::Executor::create(net.g, po, {});
  ASSERT_TRUE(ex.ok()) << ex.status().to_string();
  EXPECT_EQ((*ex)->placement().device_of[net.custom.id], opencl_.get());
  EXPECT_TRUE((*ex)->placement().fallbacks.empty());
  EXPECT_EQ((*ex)->placement().splits.size(), 1u);
  const std::vector<float> x = ramp(0.1f, 0.0f), y = ramp(0.37f, 1.0f);
  const std::vector<float> got = run(**ex, net, x, y);
  ASSERT_EQ(got.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = (x[i] + -1.5f * y[i]) + x[i];
    ASSERT_NEAR(got[i], want, 1e-6f * std::max(1.0f, std::abs(want))) << i;
  }
  // A second run reuses the program and kernel built for this device.
  EXPECT_EQ(run(**ex, net, x, y), got);
}

TEST_F(CustomOp, WithoutAnOpenClKernelFallsBackToCpuOrIsNamed) {
  if (!opencl_) GTEST_SKIP() << "no OpenCL device";
  Net net(square(), 1.0f);
  EXPECT_FALSE(opencl_->supports(net.g, net.g.node(net.custom.id)));
  sched::PlacementOptions po;
  po.devices = {opencl_.get()};
  po.fallback = cpu_.get();
  auto ex = sched::Executor::create(net.g, po, {});
  ASSERT_TRUE(ex.ok()) << ex.status().to_string();
  const sched::Placement& pl = (*ex)->placement();
  EXPECT_EQ(pl.device_of[net.custom.id], cpu_.get());
  EXPECT_EQ(pl.device_of[net.out.id], opencl_.get());
  ASSERT_EQ(pl.fallbacks.size(), 1u);
  EXPECT_EQ(pl.fallbacks[0], net.custom.id);
  const std::vector<float> x = ramp(0.1f, 0.0f), y = ramp(0.37f, 1.0f);
  const std::vector<float> got = run(**ex, net, x, y);
  ASSERT_EQ(got.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_FLOAT_EQ(got[i], x[i] * x[i] + x[i]) << i;

  po.policy = sched::FallbackPolicy::Error;
  auto refused = sched::Executor::create(net.g, po, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "device 'opencl' cannot run node 'blk.0.custom' (cpu_only_square on f32)"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace autoglm
