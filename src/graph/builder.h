// Builds graphs op by op, inferring each output's dtype and symbolic shape from its inputs.
#pragma once

#include <string>
#include <vector>

#include "graph/custom_op.h"
#include "graph/graph.h"

namespace autoglm::graph {

struct Value {
  NodeId id = -1;
};

class Builder {
 public:
  explicit Builder(Graph& g) : g_(g) {}
  Graph& graph() { return g_; }
  // The first shape or dtype error met while building (ops after it return an invalid Value).
  const Status& status() const { return status_; }
  const Shape& shape(Value v) const { return g_.node(v.id).shape; }

  Value input(const std::string& name, DType dtype, Shape shape);
  Value weight(const std::string& name, const TensorDesc& desc, const void* data);
  Value kv_cache(const std::string& name, DType dtype, Shape shape, int32_t slot);

  Value get_rows(Value table, Value ids, const std::string& name);
  Value rms_norm(Value x, float eps, const std::string& name);
  Value mul(Value a, Value b, const std::string& name);
  Value add(Value a, Value b, const std::string& name);
  Value silu(Value x, const std::string& name);
  Value rms_norm_mul(Value x, Value w, float eps, const std::string& name);
  Value swiglu(Value gate, Value up, const std::string& name);
  Value matmul(Value w, Value x, const std::string& name);
  // x: [n_tok, n_head * head_dim]; freq_factors may be {-1}.
  Value rope(Value x, Value positions, Value freq_factors, const OpParams& p,
             const std::string& name);
  Value softmax(Value x, float scale, const std::string& name);
  Value kv_store(Value cache, Value src, Value slots, const std::string& name);
  // The per-token inputs that locate each token's visible positions in the paged KV cache.
  struct PagedView {
    Value positions;     // [n_tok] i32
    Value tok_seq;       // [n_tok] i32
    Value block_tables;  // [n_seqs, width] i32
  };
  Value attention(Value q, Value k, Value v, const PagedView& kv, const OpParams& p,
                  const std::string& name);
  // A node of a registered custom op; params carries its attributes (params.custom is set here).
  Value custom(const CustomOp& op, std::vector<Value> inputs, const std::string& name,
               OpParams params = {});

 private:
  Value push(OpKind op, const std::string& name, DType dtype, Shape shape, std::vector<NodeId> in,
             OpParams params = {});
  Graph& g_;
  Status status_;
};

}  // namespace autoglm::graph
