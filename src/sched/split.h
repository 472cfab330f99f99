// Placement: every compute node goes on the first device, in priority order, that supports the
// whole node; where none does, the fallback policy either puts it on the CPU or fails before
// anything runs. Consecutive nodes on one device form a split; the cuts between splits are where
// tensors cross devices.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.h"
#include "hal/device.h"

namespace autoglm::sched {

struct Split {
  hal::Device* device = nullptr;
  std::vector<graph::NodeId> nodes;  // compute nodes, in execution order
};

enum class FallbackPolicy { Cpu, Error };
// "cpu" or "error"; InvalidArgument naming the accepted values otherwise.
Result<FallbackPolicy> parse_fallback_policy(std::string_view text);
const char* fallback_policy_name(FallbackPolicy p);

struct PlacementOptions {
  std::vector<hal::Device*> devices;  // priority order, first preferred
  hal::Device* fallback = nullptr;    // the CPU, for policy Cpu
  FallbackPolicy policy = FallbackPolicy::Cpu;
};

struct Placement {
  std::vector<Split> splits;
  std::vector<hal::Device*> device_of;   // per node id; weights and state follow their first
                                         // consumer, inputs the first consumer too
  std::vector<graph::NodeId> fallbacks;  // nodes no preferred device supports
  // Tensors produced on one device and read on another: (producer, consuming device).
  struct Crossing {
    graph::NodeId producer;
    hal::Device* consumer;
  };
  std::vector<Crossing> crossings;
};

// Unsupported under policy Error (or with no fallback device), naming the node, its op, its
// input dtypes and the device that cannot run it.
Result<Placement> place(const graph::Graph& g, const std::vector<graph::NodeId>& order,
                        const PlacementOptions& opts);

// "blk.0.attn (Attention on f32, f16, f16, i32, i32, i32)"
std::string describe_node(const graph::Graph& g, const graph::Node& n);

}  // namespace autoglm::sched
