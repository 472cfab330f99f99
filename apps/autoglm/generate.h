// The generation loop shared by `run` and `chat`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::cli {

struct GenerateOptions {
  int32_t max_tokens = 128;
  bool ignore_eos = false;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated = 0;
  double prefill_ms = 0;
  double decode_ms = 0;
  bool stopped_by_eos = false;
  std::vector<int32_t> tokens;  // generated ids (the end-of-generation token excluded)
};

// Decodes `prompt` after what the session already holds, then samples up to max_tokens,
// calling on_text with complete UTF-8 pieces as they are produced.
Result<GenerateStats> generate(runtime::Session& s, const tokenizer::Tokenizer& tok,
                               const std::vector<int32_t>& prompt, runtime::Sampler& sampler,
                               const GenerateOptions& opts,
                               const std::function<void(const std::string&)>& on_text);

}  // namespace autoglm::cli
