// Shape and dtype inference: one rule per op, shared by the builder and the verifier.
#pragma once

#include "graph/graph.h"

namespace autoglm::graph {

struct Inferred {
  DType dtype;
  Shape shape;
};

// Infers a non-leaf node's output from its inputs (which must already be in g).
Result<Inferred> infer(const Graph& g, const Node& n);

}  // namespace autoglm::graph
