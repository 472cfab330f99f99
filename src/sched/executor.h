// Runs a graph on devices. Plans (placement, memory, resolved tensors) are built once per
// shape binding and cached, so a decode step neither rebuilds nor re-plans the graph.
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
  MemoryPlan memory;  // offsets into the executor's arena, which every plan shares
  std::vector<Split> splits;
  std::vector<hal::SplitExec> execs;    // one per split
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
  // g must outlive the executor and already have passed the pass manager.
  Executor(const graph::Graph& g, hal::Device& device, std::vector<StateBinding> state);

  // The cached plan for these bindings, building it on first use.
  Result<const Plan*> plan_for(const graph::Bindings& bindings);

  // Copies inputs (node id → bytes) into the plan's arena and runs every split.
  struct Input {
    graph::NodeId node;
    std::span<const uint8_t> bytes;
  };
  Result<const Plan*> run(const graph::Bindings& bindings, std::span<const Input> inputs);

  const ExecutorStats& stats() const { return stats_; }

  // Plans kept at most; a server sees many batch shapes.
  static constexpr size_t kMaxPlans = 64;

 private:
  Result<std::unique_ptr<Plan>> build_plan(const graph::Bindings& bindings);

  const graph::Graph& g_;
  hal::Device& device_;
  std::unique_ptr<hal::Stream> stream_;
  std::vector<StateBinding> state_;
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
