// Runs a small graph on one device through the hal interface alone (buffers from the device's
// buffer type, one stream), as the executor would: inputs and KV pools in device buffers,
// weights as zero-copy host pointers.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "hal/device.h"

namespace autoglm::testing {

struct HostTensor {
  std::vector<uint8_t> bytes;
};

class OpRunner {
 public:
  // Inputs and KvCache contents by node id; weights point into the graph's nodes.
  OpRunner(const graph::Graph& g, std::map<graph::NodeId, HostTensor> inputs)
      : g_(g), inputs_(std::move(inputs)) {}

  // Runs every node reachable from the graph's outputs; returns each output's bytes and, for
  // KvStore outputs, the whole cache after the store.
  Result<std::vector<HostTensor>> run(hal::Device& dev) const;

 private:
  const graph::Graph& g_;
  std::map<graph::NodeId, HostTensor> inputs_;
};

}  // namespace autoglm::testing
