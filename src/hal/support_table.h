// A device's op × dtype support table, derived from its whole-node supports() query on small
// probe graphs, so the table shown to users can never disagree with what placement sees.
#pragma once

#include <vector>

#include "hal/device.h"

namespace autoglm::hal {

struct OpSupport {
  graph::OpKind op;
  // The typed operand: the weight/table of MatMul and GetRows, the cache of KvStore and
  // Attention, the rows of every other op.
  std::vector<DType> dtypes;
};

// Every compute op (not Input/Weight/KvCache) in OpKind order, with the dtypes among F32, F16,
// BF16, Q4_0, Q4_1 and Q8_0 the device accepts for a representative node of that op.
std::vector<OpSupport> support_table(const Device& d);

// Whether the device runs op's representative node with typed operand t (a row of the table).
bool supports_op(const Device& d, graph::OpKind op, DType t);

// The KV-cache types the device both stores (KvStore) and reads (Attention), from the same
// probes, in the order of the table's dtypes.
std::vector<DType> kv_cache_types(const Device& d);

}  // namespace autoglm::hal
