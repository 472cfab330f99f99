// Writes small random-weight models with real structure, for tests that need a GGUF file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace autoglm::testing {

// The vocabulary is GPT-2 byte-level: 256 byte tokens, 3 control tokens (<|endoftext|>,
// <|im_start|>, <|im_end|>) and 3 merges: kTinyVocab tokens in all.
constexpr int64_t kTinyVocab = 262;

struct TinyLlama {
  int64_t n_layer = 2;
  int64_t n_embd = 64;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_ff = 96;
  int64_t n_ctx = 128;
  DType matrix_dtype = DType::F32;
  bool tied_output = true;
  float rope_freq_base = 10000.0f;
  std::string arch = "llama";
  std::string omit_tensor;        // leave this tensor out of the file (error tests)
  std::string rope_scaling_type;  // written with rope_scaling_factor when not empty
  float rope_scaling_factor = 1.0f;
  uint32_t seed = 1;
};

// Random weights, deterministic in `seed`; float weights are kept so tests can run a naive
// reference forward pass on exactly what the file holds (after quantization round-trip).
struct TinyLlamaWeights {
  std::vector<std::pair<std::string, std::vector<float>>> tensors;  // dequantized values
  const std::vector<float>& get(const std::string& name) const;
};

Result<TinyLlamaWeights> write_tiny_llama(const std::string& path, const TinyLlama& cfg);

// write_tiny_llama into a fresh temp file; returns its path and, if asked, the weights. A write
// failure is a broken fixture, not a test outcome: it aborts with the error.
std::string tiny_llama_file(const TinyLlama& cfg = {}, TinyLlamaWeights* weights = nullptr);

// A unique temporary path under the system temp dir.
std::string temp_path(const std::string& stem);

}  // namespace autoglm::testing
