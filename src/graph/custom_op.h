// Operators registered at run time: a name, an input count and a shape rule. Nodes of kind
// OpKind::Custom point at their definition (OpParams::custom); each backend runs them with the
// kernel registered under the same name (hal/custom_kernels.h), so placement puts them on a
// device that has one and falls back (or fails, naming the op) where none does.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "graph/infer.h"

namespace autoglm::graph {

struct CustomOp {
  std::string name;     // "scaled_add": shown by dumps, placement and errors; the kernels' key
  size_t n_inputs = 1;  // at least 1
  // The output's dtype and shape from the node's inputs (already checked to exist and precede
  // it); an error's message says what the inputs lack (the verifier prefixes the node).
  std::function<Result<Inferred>(const Graph& g, const Node& n)> infer;
};

// Adds a definition and returns the stable pointer nodes carry. InvalidArgument for an empty
// name, a built-in op's name, a name already taken, no inputs or no shape rule. The registry is per
// process and only the host's graph library reads it: a backend plugin reads definitions through
// its nodes, never through find_custom_op.
Result<const CustomOp*> register_custom_op(CustomOp op);

// The definition registered under name, or null.
const CustomOp* find_custom_op(std::string_view name);

// A shape rule for element-wise ops: every input f32 with the first input's shape; the output
// has that shape.
Result<Inferred> same_shape_f32(const Graph& g, const Node& n);

}  // namespace autoglm::graph
