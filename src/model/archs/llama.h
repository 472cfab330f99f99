// Llama family: Llama 2/3, SmolLM2, TinyLlama, Mistral-style GQA; tied or untied output.
#pragma once

#include "model/arch.h"

namespace autoglm::model {

class LlamaArch : public Arch {
 public:
  std::string name() const override { return "llama"; }
  Result<HParams> load_hparams(const gguf::File& f) const override;
  void declare_weights(WeightTable& table, const HParams& hp) const override;
  Result<graph::Value> build(graph::Builder& b, const Weights& w, const HParams& hp,
                             const BatchView& batch, const KvView& kv) const override;
};

}  // namespace autoglm::model
