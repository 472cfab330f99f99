// What a stream executes: a run of nodes on one device with every tensor resolved to memory.
// Built once per plan by the scheduler, so a decode step only refreshes per-run arguments.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor_desc.h"
#include "graph/graph.h"

namespace autoglm::hal {

struct TensorRef {
  TensorDesc desc;
  void* data = nullptr;
  // Weights: the bytes never change while the executor lives, so a backend may keep a derived
  // copy (a repacked layout) keyed by `data`.
  bool constant = false;
};

struct NodeExec {
  const graph::Node* node = nullptr;
  TensorRef out;
  std::vector<TensorRef> in;  // in node input order; data null for an absent optional input
};

struct SplitExec {
  std::vector<NodeExec> nodes;
};

}  // namespace autoglm::hal
