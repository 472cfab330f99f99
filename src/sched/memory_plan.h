// Liveness-based memory planning: every intermediate gets an offset in one arena, and tensors
// whose lifetimes do not overlap share bytes.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

namespace autoglm::sched {

constexpr size_t kNoArena = static_cast<size_t>(-1);

struct MemoryPlan {
  std::vector<size_t> offsets;  // per node id; kNoArena for weights, state and views of state
  size_t arena_bytes = 0;
  size_t naive_bytes = 0;  // what one buffer per tensor would take (for reporting)
};

// True for nodes whose output lives in the arena (inputs and computed tensors).
bool needs_arena(const graph::Node& n);

MemoryPlan plan_memory(const graph::Graph& g, const std::vector<graph::NodeId>& order,
                       const graph::Bindings& bindings, size_t alignment);

}  // namespace autoglm::sched
