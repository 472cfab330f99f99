// A naive, obviously-correct llama forward pass in double precision: the reference the
// graph/scheduler/kernel stack is checked against on tiny random models.
#pragma once

#include <vector>

#include "tiny_model.h"

namespace autoglm::testing {

// Logits [tokens.size()][kTinyVocab] for every position of a causal pass over `tokens`.
std::vector<std::vector<float>> naive_llama_logits(const TinyLlama& cfg, const TinyLlamaWeights& w,
                                                   const std::vector<int32_t>& tokens);

}  // namespace autoglm::testing
