#include "sched/memory_plan.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "core/aligned.h"

namespace autoglm::sched {

bool needs_arena(const graph::Node& n) {
  using graph::OpKind;
  return n.op != OpKind::Weight && n.op != OpKind::KvCache && !graph::stores_kv(n.op);
}

namespace {

// First-fit allocator over [0, inf) with coalescing free blocks.
class Arena {
 public:
  size_t alloc(size_t size) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= size) {
        const size_t off = it->first;
        const size_t rest = it->second - size;
        free_.erase(it);
        if (rest) free_.emplace(off + size, rest);
        return off;
      }
    }
    // Grow: extend a free block touching the end, else append.
    if (!free_.empty()) {
      auto last = std::prev(free_.end());
      if (last->first + last->second == top_) {
        const size_t off = last->first;
        free_.erase(last);
        top_ = off + size;
        return off;
      }
    }
    const size_t off = top_;
    top_ += size;
    return off;
  }
  void release(size_t off, size_t size) {
    auto it = free_.emplace(off, size).first;
    auto next = std::next(it);
    if (next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }
  size_t top() const { return top_; }

 private:
  std::map<size_t, size_t> free_;
  size_t top_ = 0;
};

}  // namespace

MemoryPlan plan_memory(const graph::Graph& g, const std::vector<graph::NodeId>& order,
                       const graph::Bindings& bindings, size_t alignment) {
  const size_t n = g.nodes().size();
  MemoryPlan plan;
  plan.offsets.assign(n, kNoArena);
  // Last step at which each node's output is read; graph outputs stay live to the end.
  std::vector<size_t> last_use(n, 0);
  for (size_t step = 0; step < order.size(); ++step) {
    const graph::NodeId id = order[step];
    last_use[id] = std::max(last_use[id], step);
    for (graph::NodeId in : g.node(id).inputs) {
      if (in >= 0) last_use[in] = std::max(last_use[in], step);
    }
  }
  for (graph::NodeId o : g.outputs()) last_use[o] = order.size();

  std::vector<size_t> sizes(n, 0);
  std::vector<std::vector<graph::NodeId>> dies_after(order.size() + 1);
  Arena arena;
  for (size_t step = 0; step < order.size(); ++step) {
    const graph::NodeId id = order[step];
    if (!needs_arena(g.node(id))) continue;
    sizes[id] = align_up(g.resolve(id, bindings).bytes(), alignment);
    plan.naive_bytes += sizes[id];
    plan.offsets[id] = arena.alloc(sizes[id]);
    dies_after[last_use[id]].push_back(id);
    // Free after allocating this step's output, so an op never writes over its own inputs.
    for (graph::NodeId dead : dies_after[step]) arena.release(plan.offsets[dead], sizes[dead]);
  }
  plan.arena_bytes = arena.top();
  return plan;
}

}  // namespace autoglm::sched
