#include "sched/executor.h"

#include <algorithm>
#include <cstring>

namespace autoglm::sched {

Executor::Executor(const graph::Graph& g, hal::Device& device, std::vector<StateBinding> state)
    : g_(g), device_(device), stream_(device.create_stream()), state_(std::move(state)) {}

Result<const Plan*> Executor::plan_for(const graph::Bindings& bindings) {
  ++tick_;
  auto it = cache_.find(bindings);
  if (it != cache_.end()) {
    it->second.last_use = tick_;
    return static_cast<const Plan*>(it->second.plan.get());
  }
  AUTOGLM_ASSIGN_OR_RETURN(auto plan, build_plan(bindings));
  ++stats_.plans_built;
  if (cache_.size() >= kMaxPlans) {
    auto lru = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    cache_.erase(lru);
    ++stats_.plans_evicted;
  }
  const Plan* p = plan.get();
  cache_.emplace(bindings, Cached{std::move(plan), tick_});
  return p;
}

Result<std::unique_ptr<Plan>> Executor::build_plan(const graph::Bindings& bindings) {
  if (bindings.size() != g_.symbols().size()) {
    return error(ErrorCode::Internal, "plan bindings do not match the graph's symbols");
  }
  auto plan = std::make_unique<Plan>();
  plan->bindings = bindings;
  const std::vector<graph::NodeId> order = g_.topo_order();
  AUTOGLM_ASSIGN_OR_RETURN(plan->splits, single_device_splits(g_, order, device_));

  hal::BufferType& bt = device_.buffer_type();
  plan->memory = plan_memory(g_, order, bindings, bt.alignment());
  if (!arena_ || arena_->size() < plan->memory.arena_bytes) {
    stats_.plans_evicted += cache_.size();
    cache_.clear();
    arena_.reset();
    AUTOGLM_ASSIGN_OR_RETURN(arena_, bt.allocate(plan->memory.arena_bytes));
  }
  auto* base = static_cast<uint8_t*>(arena_->data());

  plan->tensors.resize(g_.nodes().size());
  for (graph::NodeId id : order) {
    const graph::Node& n = g_.node(id);
    hal::TensorRef& t = plan->tensors[id];
    t.desc = g_.resolve(id, bindings);
    switch (n.op) {
      case graph::OpKind::Weight:
        t.data = const_cast<void*>(n.weight_data);
        break;
      case graph::OpKind::KvCache: {
        if (n.state_slot < 0 || static_cast<size_t>(n.state_slot) >= state_.size() ||
            state_[n.state_slot].bytes < t.desc.bytes()) {
          return error(ErrorCode::Internal, "state for '" + n.name + "' is not bound");
        }
        t.data = state_[n.state_slot].data;
        break;
      }
      case graph::OpKind::KvStore:
        t.data = plan->tensors[n.inputs[0]].data;
        break;
      default:
        t.data = base + plan->memory.offsets[id];
        break;
    }
  }
  for (const Split& s : plan->splits) {
    hal::SplitExec exec;
    for (graph::NodeId id : s.nodes) {
      const graph::Node& n = g_.node(id);
      if (n.op == graph::OpKind::Input || n.op == graph::OpKind::Weight ||
          n.op == graph::OpKind::KvCache) {
        continue;
      }
      hal::NodeExec ne;
      ne.node = &n;
      ne.out = plan->tensors[id];
      for (graph::NodeId in : n.inputs)
        ne.in.push_back(in >= 0 ? plan->tensors[in] : hal::TensorRef{});
      exec.nodes.push_back(std::move(ne));
    }
    plan->execs.push_back(std::move(exec));
  }
  return plan;
}

Result<const Plan*> Executor::run(const graph::Bindings& bindings, std::span<const Input> inputs) {
  AUTOGLM_ASSIGN_OR_RETURN(const Plan* plan, plan_for(bindings));
  for (const Input& in : inputs) {
    const hal::TensorRef& t = plan->tensors[in.node];
    if (in.bytes.size() != t.desc.bytes()) {
      return error(ErrorCode::Internal, "input '" + g_.node(in.node).name + "' has the wrong size");
    }
    std::memcpy(t.data, in.bytes.data(), in.bytes.size());
  }
  for (const hal::SplitExec& exec : plan->execs) {
    AUTOGLM_RETURN_IF_ERROR(stream_->compute(exec));
  }
  stream_->synchronize();
  ++stats_.runs;
  return plan;
}

}  // namespace autoglm::sched
