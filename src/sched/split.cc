#include "sched/split.h"

namespace autoglm::sched {
namespace {

bool is_memory(const graph::Node& n) {
  return n.op == graph::OpKind::Input || n.op == graph::OpKind::Weight ||
         n.op == graph::OpKind::KvCache;
}

}  // namespace

Result<FallbackPolicy> parse_fallback_policy(std::string_view text) {
  if (text == "cpu") return FallbackPolicy::Cpu;
  if (text == "error") return FallbackPolicy::Error;
  return error(ErrorCode::InvalidArgument,
               "fallback_policy '" + std::string(text) + "' is not valid (accepted: cpu, error)");
}

const char* fallback_policy_name(FallbackPolicy p) {
  return p == FallbackPolicy::Cpu ? "cpu" : "error";
}

std::string describe_node(const graph::Graph& g, const graph::Node& n) {
  std::string dtypes;
  for (graph::NodeId in : n.inputs) {
    if (in >= 0) dtypes += (dtypes.empty() ? "" : ", ") + std::string(dtype_name(g.node(in).dtype));
  }
  return "'" + n.name + "' (" + graph::op_label(n) + " on " + dtypes + ")";
}

Result<Placement> place(const graph::Graph& g, const std::vector<graph::NodeId>& order,
                        const PlacementOptions& opts) {
  if (opts.devices.empty()) return error(ErrorCode::Internal, "placement needs a device");
  Placement pl;
  pl.device_of.assign(g.nodes().size(), nullptr);
  for (graph::NodeId id : order) {
    const graph::Node& n = g.node(id);
    if (is_memory(n)) continue;
    hal::Device* dev = nullptr;
    for (hal::Device* d : opts.devices) {
      if (d->supports(g, n)) {
        dev = d;
        break;
      }
    }
    if (!dev) {
      const std::string what = "device '" + opts.devices.front()->props().name +
                               "' cannot run node " + describe_node(g, n);
      if (opts.policy == FallbackPolicy::Error) {
        return error(ErrorCode::Unsupported,
                     what + "; use fallback_policy cpu to run it on the CPU");
      }
      if (!opts.fallback || !opts.fallback->supports(g, n)) {
        return error(ErrorCode::Unsupported, what + ", and neither can the CPU");
      }
      dev = opts.fallback;
      pl.fallbacks.push_back(id);
    }
    pl.device_of[id] = dev;
    if (pl.splits.empty() || pl.splits.back().device != dev) pl.splits.push_back({dev, {}});
    pl.splits.back().nodes.push_back(id);
  }
  // Memory nodes are reported with their first consumer; computed tensors read on another
  // device are crossings, once per consuming device.
  for (graph::NodeId id : order) {
    const graph::Node& n = g.node(id);
    hal::Device* consumer = pl.device_of[id];
    if (!consumer) continue;
    for (graph::NodeId in : n.inputs) {
      if (in < 0) continue;
      if (is_memory(g.node(in))) {
        if (!pl.device_of[in]) pl.device_of[in] = consumer;
        continue;
      }
      // A store's output is the persistent cache itself, not a per-run tensor.
      if (pl.device_of[in] == consumer || graph::stores_kv(g.node(in).op)) continue;
      bool seen = false;
      for (const auto& c : pl.crossings) seen |= c.producer == in && c.consumer == consumer;
      if (!seen) pl.crossings.push_back({in, consumer});
    }
  }
  return pl;
}

}  // namespace autoglm::sched
