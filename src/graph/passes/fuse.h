// Fusion passes: each rewrites one small pattern into one op, so a step dispatches fewer
// kernels and reads each activation once. The replaced producers become dead; DCE removes them.
#pragma once

#include "graph/pass.h"

namespace autoglm::graph {

// Mul(RmsNorm(x), w) with w a weight row → RmsNormMul(x, w).
class FuseRmsNormMul : public Pass {
 public:
  std::string name() const override { return "fuse_rms_norm_mul"; }
  Status run(Graph& g) override;
};

// Mul(Silu(gate), up) → SwiGlu(gate, up).
class FuseSwiGlu : public Pass {
 public:
  std::string name() const override { return "fuse_swiglu"; }
  Status run(Graph& g) override;
};

// RoPE into its one consumer: KvStore(cache, Rope(k), slots) → RopeKvStore (K rotated as it is
// stored) and Attention(Rope(q), ...) → RopeAttention (each query head rotated as it is read),
// when the Rope's positions are the consumer's own tokens' positions.
class FuseRope : public Pass {
 public:
  std::string name() const override { return "fuse_rope"; }
  Status run(Graph& g) override;
};

}  // namespace autoglm::graph
