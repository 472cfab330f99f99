// Runtime configuration shared by every command: one JSON file (comments allowed), overridden
// by AUTOGLM_* environment variables, overridden by command-line flags.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "hal/device.h"
#include "sched/split.h"

namespace autoglm::runtime {

struct RuntimeConfig {
  std::string backend = "cpu";     // "auto", a backend name, or a comma-separated priority list
  std::string precision = "auto";  // auto | f32 | f16 | bf16 | int8
  sched::FallbackPolicy fallback_policy = sched::FallbackPolicy::Cpu;
  size_t memory_alignment = 0;  // bytes, a power of two; 0: the device's own
  int threads = 0;              // 0: physical cores
  // KV cache storage: auto (from precision), f16, f32, or q8_0 (half of f16's memory per token
  // for a small accuracy cost).
  std::string kv_dtype = "auto";
};

// The keys, in file, environment (AUTOGLM_ + upper case) and flag (--key-with-dashes) form.
const std::vector<std::string>& config_keys();

// Sets one key from text; InvalidArgument names the key and its accepted values.
Status set_config_value(RuntimeConfig& c, std::string_view key, std::string_view value);
// Reads a JSON object of keys from a file (// and /* */ comments allowed).
Status apply_config_file(RuntimeConfig& c, const std::string& path);
// Applies every AUTOGLM_<KEY> variable that is set.
Status apply_config_env(RuntimeConfig& c);

// What `precision` means on one device: its KV-cache type, and why.
struct PrecisionChoice {
  DType kv = DType::F16;
  std::string why;
};

// auto: the device's preferred KV type (hal::DeviceProps::preferred_kv); f16 and f32: that
// type; int8: the preferred KV type, with quantized matmuls in integer block sums. Unsupported,
// naming the key and the values the device accepts, when its kernels do not implement it: bf16
// on every device of this build, int8 where DeviceProps::int8_block_sums is false.
Result<PrecisionChoice> choose_precision(std::string_view precision, const hal::Device& d);

// The device that holds the KV cache: the first of c.backend (then the fallback CPU) that stores
// and attends over one, created on its own to be asked (an OpenCL driver's kernel cache makes the
// second creation cheap).
Result<std::unique_ptr<hal::Device>> kv_cache_device(const RuntimeConfig& c);

// The KV-cache type: kv_dtype when it is not auto; else precision f16 or f32 as named, auto and
// int8 as choose_precision picks on kv_cache_device(c). A precision that device does not
// implement (bf16; int8 without integer block sums) is Unsupported whatever kv_dtype says.
Result<DType> kv_dtype_for(const RuntimeConfig& c);

}  // namespace autoglm::runtime
