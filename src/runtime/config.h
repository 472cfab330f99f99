// Runtime configuration shared by every command: one JSON file (comments allowed), overridden
// by AUTOGLM_* environment variables, overridden by command-line flags.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "sched/split.h"

namespace autoglm::runtime {

struct RuntimeConfig {
  std::string backend = "cpu";     // "auto", a backend name, or a comma-separated priority list
  std::string precision = "auto";  // auto | f32 | f16 | bf16 | int8
  sched::FallbackPolicy fallback_policy = sched::FallbackPolicy::Cpu;
  size_t memory_alignment = 0;  // bytes, a power of two; 0: the device's own
  int threads = 0;              // 0: physical cores
};

// The keys, in file, environment (AUTOGLM_ + upper case) and flag (--key-with-dashes) form.
const std::vector<std::string>& config_keys();

// Sets one key from text; InvalidArgument names the key and its accepted values.
Status set_config_value(RuntimeConfig& c, std::string_view key, std::string_view value);
// Reads a JSON object of keys from a file (// and /* */ comments allowed).
Status apply_config_file(RuntimeConfig& c, const std::string& path);
// Applies every AUTOGLM_<KEY> variable that is set.
Status apply_config_env(RuntimeConfig& c);

// The KV-cache type for the configured precision: auto and f16 store F16 (every device here
// supports it and it halves KV traffic), f32 stores F32. Unsupported for bf16 and int8 until a
// device offers them.
Result<DType> kv_dtype_for(const RuntimeConfig& c);

}  // namespace autoglm::runtime
