// Building blocks shared by architectures.
#pragma once

#include <string>

#include "graph/builder.h"
#include "model/arch.h"

namespace autoglm::model {

// rms_norm(x) * weight.                                x: [n_tok, n_embd]
graph::Value rms_norm_weighted(graph::Builder& b, graph::Value x, graph::Value weight, float eps,
                               const std::string& name);

// down(silu(gate(x)) * up(x)).                          x: [n_tok, n_embd]
graph::Value swiglu_ffn(graph::Builder& b, graph::Value x, const Weights& w,
                        const std::string& prefix);

// Reads "<arch>.<key>" as an integer / float, naming the key when it is missing or malformed.
Result<int64_t> arch_int(const gguf::File& f, const std::string& arch, const std::string& key);
Result<float> arch_float_or(const gguf::File& f, const std::string& arch, const std::string& key,
                            float fallback);

}  // namespace autoglm::model
