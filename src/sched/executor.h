// Runs a graph on devices. Placement is decided once per graph; plans (memory, resolved tensors)
// once per shape binding and cached, so a decode step neither rebuilds nor re-plans the graph.
// Memory is host-visible on every device this build drives (CPU, OpenCL with host-mapped
// buffers), so a tensor crossing a cut is read in place; ordering across devices comes from
// synchronizing the producing stream before the next split runs. A device with device-only
// memory would need copies at the crossings, which Placement already lists.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "hal/device.h"
#include "sched/memory_plan.h"
#include "sched/split.h"

namespace autoglm::sched {

struct Plan {
  graph::Bindings bindings;
  MemoryPlan memory;                  // offsets into the executor's arena, which every plan shares
  std::vector<hal::SplitExec> execs;  // one per split of the placement
  size_t crossing_bytes = 0;          // bytes of tensors read across a cut, per run
  std::vector<hal::TensorRef> tensors;  // per node id
};

// Persistent state the graph's KvCache nodes refer to, by slot.
struct StateBinding {
  void* data = nullptr;
  size_t bytes = 0;
};

struct ExecutorStats {
  size_t plans_built = 0;
  size_t plans_evicted = 0;
  size_t runs = 0;
};

class Executor {
 public:
  // Places the graph (errors name the node a device cannot run under policy Error). g and the
  // devices must outlive the executor; g must already have passed the pass manager.
  static Result<std::unique_ptr<Executor>> create(const graph::Graph& g,
                                                  const PlacementOptions& placement,
                                                  std::vector<StateBinding> state);
  const Placement& placement() const { return placement_; }

  // The cached plan for these bindings, building it on first use.
  Result<const Plan*> plan_for(const graph::Bindings& bindings);

  // Copies inputs (node id → bytes) into the plan's arena and runs every split.
  struct Input {
    graph::NodeId node;
    std::span<const uint8_t> bytes;
  };
  Result<const Plan*> run(const graph::Bindings& bindings, std::span<const Input> inputs);

  const ExecutorStats& stats() const { return stats_; }
  // Kernel timing on every stream (hal::Stream::set_timing), and its time added up; negative
  // when a stream does not time its kernels.
  void set_kernel_timing(bool on);
  double kernel_seconds() const;
  // kernel_seconds() by op kind over every stream (hal::Stream::kernel_seconds_by_op); empty
  // when a stream does not time its kernels.
  std::map<std::string, double> kernel_seconds_by_op() const;

  // Plans kept at most; a server sees many batch shapes.
  static constexpr size_t kMaxPlans = 64;

 private:
  Executor(const graph::Graph& g, Placement placement, std::vector<StateBinding> state,
           hal::Device* arena_device);
  Result<std::unique_ptr<Plan>> build_plan(const graph::Bindings& bindings);
  hal::Stream& stream_for(const hal::Device* d);

  const graph::Graph& g_;
  Placement placement_;
  std::vector<std::pair<const hal::Device*, std::unique_ptr<hal::Stream>>> streams_;
  std::vector<StateBinding> state_;
  hal::Device* arena_device_;  // whose buffer type holds the arena
  // One arena for all plans: only one plan runs at a time, so a cached plan costs its offsets,
  // not its memory. It grows to the largest plan seen; growing drops the plans that point into
  // the old one.
  std::unique_ptr<hal::Buffer> arena_;
  // Plans by bindings with a last-use tick.
  struct Cached {
    std::unique_ptr<Plan> plan;
    uint64_t last_use = 0;
  };
  std::map<graph::Bindings, Cached> cache_;
  uint64_t tick_ = 0;
  ExecutorStats stats_;
};

}  // namespace autoglm::sched
