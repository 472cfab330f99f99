#include "sched/executor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace autoglm::sched {

Result<std::unique_ptr<Executor>> Executor::create(const graph::Graph& g,
                                                   const PlacementOptions& opts,
                                                   std::vector<StateBinding> state) {
  AUTOGLM_ASSIGN_OR_RETURN(Placement pl, place(g, g.topo_order(), opts));
  // The arena comes from the preferred device when it runs anything: the CPU can use its
  // host-visible memory, while a device may refuse outputs in another's (OpenCL does).
  hal::Device* arena_device = pl.splits.empty() ? nullptr : pl.splits.front().device;
  for (const Split& s : pl.splits) {
    if (s.device == opts.devices.front()) arena_device = s.device;
  }
  return std::unique_ptr<Executor>(new Executor(g, std::move(pl), std::move(state), arena_device));
}

Executor::Executor(const graph::Graph& g, Placement placement, std::vector<StateBinding> state,
                   hal::Device* arena_device)
    : g_(g),
      placement_(std::move(placement)),
      state_(std::move(state)),
      arena_device_(arena_device) {
  for (const Split& s : placement_.splits) {
    bool have = false;
    for (const auto& [d, st] : streams_) have |= d == s.device;
    if (!have) streams_.emplace_back(s.device, s.device->create_stream());
  }
}

hal::Stream& Executor::stream_for(const hal::Device* d) {
  for (auto& [dev, st] : streams_) {
    if (dev == d) return *st;
  }
  // The constructor made a stream for every split's device and only those are asked for, so
  // a miss is a programming error, not a state to run on.
  std::abort();
}

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
  if (placement_.splits.empty()) return error(ErrorCode::Internal, "the graph computes nothing");
  // Every device reads host-visible memory, so one arena serves all of them.
  hal::BufferType& bt = arena_device_->buffer_type();
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
        t.constant = true;
        break;
      case graph::OpKind::KvCache: {
        if (n.state_slot < 0 || static_cast<size_t>(n.state_slot) >= state_.size() ||
            state_[n.state_slot].bytes < t.desc.bytes()) {
          return error(ErrorCode::Internal, "state for '" + n.name + "' is not bound");
        }
        t.data = state_[n.state_slot].data;
        break;
      }
      default:  // a KV store's output is the cache it writes (its first input)
        t.data = graph::stores_kv(n.op) ? plan->tensors[n.inputs[0]].data
                                        : base + plan->memory.offsets[id];
        break;
    }
  }
  for (const Placement::Crossing& c : placement_.crossings)
    plan->crossing_bytes += plan->tensors[c.producer].desc.bytes();
  for (const Split& s : placement_.splits) {
    hal::SplitExec exec;
    for (graph::NodeId id : s.nodes) {
      const graph::Node& n = g_.node(id);
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

void Executor::set_kernel_timing(bool on) {
  for (auto& [device, stream] : streams_) stream->set_timing(on);
}

double Executor::kernel_seconds() const {
  double s = 0.0;
  for (const auto& [device, stream] : streams_) {
    const double k = stream->kernel_seconds();
    if (k < 0) return -1.0;
    s += k;
  }
  return s;
}

std::map<std::string, double> Executor::kernel_seconds_by_op() const {
  std::map<std::string, double> out;
  if (kernel_seconds() < 0) return out;  // a partial table would hide the untimed ops
  for (const auto& [device, stream] : streams_) {
    for (const auto& [op, s] : stream->kernel_seconds_by_op()) out[op] += s;
  }
  return out;
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
  // A split may start only after the previous one, on another device, has finished writing.
  for (size_t i = 0; i < plan->execs.size(); ++i) {
    hal::Stream& st = stream_for(placement_.splits[i].device);
    AUTOGLM_RETURN_IF_ERROR(st.compute(plan->execs[i]));
    st.synchronize();
  }
  ++stats_.runs;
  return plan;
}

}  // namespace autoglm::sched
