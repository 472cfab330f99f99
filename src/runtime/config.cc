#include "runtime/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "hal/registry.h"
#include "hal/support_table.h"
#include "runtime/batch_runner.h"

namespace autoglm::runtime {
namespace {

Status invalid(std::string_view key, std::string_view value, const std::string& accepted) {
  return error(ErrorCode::InvalidArgument, "config key '" + std::string(key) + "': '" +
                                               std::string(value) +
                                               "' is not valid (accepted: " + accepted + ")");
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

// precision bf16 (everywhere) and int8 (on devices without integer block sums): valid values
// no kernel of `where` implements.
Status unimplemented_precision(std::string_view precision, const std::string& where,
                               bool int8_here) {
  std::string accepted = int8_here ? "auto, f32, f16, int8" : "auto, f32, f16";
  if (!int8_here && precision == "int8") accepted += "; int8 needs a CPU with AVX-512 VNNI";
  return error(ErrorCode::Unsupported, "config key 'precision': '" + std::string(precision) +
                                           "' is not implemented by " + where + " (accepted: " +
                                           accepted + "; for an 8-bit KV cache set kv_dtype q8_0)");
}

constexpr const char* kKvDtypes = "auto, f16, f32, q8_0";

std::optional<DType> kv_type_named(std::string_view name) {
  const auto t = dtype_from_name(name);
  if (t == DType::F16 || t == DType::F32 || t == DType::Q8_0) return t;
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = {"backend",          "precision", "fallback_policy",
                                                "memory_alignment", "threads",   "kv_dtype"};
  return keys;
}

Status set_config_value(RuntimeConfig& c, std::string_view key, std::string_view value) {
  if (key == "backend") {
    if (value.empty())
      return invalid(key, value, "auto, a backend name, or a list like opencl,cpu");
    c.backend = std::string(value);
  } else if (key == "precision") {
    if (value != "auto" && value != "f32" && value != "f16" && value != "bf16" && value != "int8")
      return invalid(key, value, "auto, f32, f16, bf16, int8");
    c.precision = std::string(value);
  } else if (key == "fallback_policy") {
    auto p = sched::parse_fallback_policy(value);
    if (!p.ok()) return invalid(key, value, "cpu, error");
    c.fallback_policy = *p;
  } else if (key == "memory_alignment") {
    size_t a = 0;
    if (!parse_number(value, a) || a == 0 || (a & (a - 1)) != 0 || a > (size_t{1} << 20))
      return invalid(key, value, "a power of two from 1 to 1048576 bytes");
    c.memory_alignment = a;
  } else if (key == "threads") {
    int t = 0;
    if (!parse_number(value, t) || t < 0 || t > 1024)
      return invalid(key, value, "0 (physical cores) to 1024");
    c.threads = t;
  } else if (key == "kv_dtype") {
    if (value != "auto" && !kv_type_named(value)) return invalid(key, value, kKvDtypes);
    c.kv_dtype = std::string(value);
  } else {
    std::string keys;
    for (const auto& k : config_keys()) keys += (keys.empty() ? "" : ", ") + k;
    return error(ErrorCode::InvalidArgument,
                 "unknown config key '" + std::string(key) + "' (known: " + keys + ")");
  }
  return {};
}

Status apply_config_file(RuntimeConfig& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::NotFound, "cannot open config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false,
                                                 /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) {
    return error(ErrorCode::InvalidArgument,
                 "config file " + path + " is not a JSON object (comments are allowed)");
  }
  for (const auto& [key, v] : j.items()) {
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
    } else if (v.is_number_unsigned() || v.is_number_integer()) {
      value = v.dump();
    } else if (v.is_array() && key == "backend") {
      for (const auto& name : v) {
        if (!name.is_string()) return invalid(key, v.dump(), "a list of backend names");
        value += (value.empty() ? "" : ",") + name.get<std::string>();
      }
    } else {
      return invalid(key, v.dump(),
                     key == "backend" ? "a string or a list of names" : "a string or a number");
    }
    Status st = set_config_value(c, key, value);
    if (!st.ok()) return error(st.code(), path + ": " + st.message());
  }
  return {};
}

Status apply_config_env(RuntimeConfig& c) {
  for (const std::string& key : config_keys()) {
    std::string var = "AUTOGLM_";
    for (char ch : key) var += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (const char* v = std::getenv(var.c_str())) {
      Status st = set_config_value(c, key, v);
      if (!st.ok()) return error(st.code(), var + ": " + st.message());
    }
  }
  return {};
}

Result<DType> kv_dtype_for(const RuntimeConfig& c) {
  if (c.precision == "bf16")
    return unimplemented_precision(c.precision, "this build's devices", false);
  std::optional<PrecisionChoice> choice;
  // int8 is a matmul order, checked on the device whatever KV type is asked for.
  if (c.precision == "int8" || (c.precision == "auto" && c.kv_dtype == "auto")) {
    AUTOGLM_ASSIGN_OR_RETURN(auto dev, kv_cache_device(c));
    AUTOGLM_ASSIGN_OR_RETURN(choice, choose_precision(c.precision, *dev));
  }
  if (c.kv_dtype != "auto") {
    if (const auto t = kv_type_named(c.kv_dtype)) return *t;
    return invalid("kv_dtype", c.kv_dtype, kKvDtypes);
  }
  if (c.precision == "f16") return DType::F16;
  if (c.precision == "f32") return DType::F32;
  return choice->kv;
}

Result<PrecisionChoice> choose_precision(std::string_view precision, const hal::Device& d) {
  const hal::DeviceProps p = d.props();
  const std::vector<DType> stored = hal::kv_cache_types(d);
  const auto has = [&](DType t) {
    return std::find(stored.begin(), stored.end(), t) != stored.end();
  };
  if (stored.empty()) {
    return error(ErrorCode::Unsupported,
                 "no KV cache here: attention does not run on '" + p.name + "'");
  }
  if (precision == "auto" || (precision == "int8" && p.int8_block_sums)) {
    if (!has(p.preferred_kv)) {
      return error(ErrorCode::Internal, "device '" + p.name + "' prefers a " +
                                            std::string(dtype_name(p.preferred_kv)) +
                                            " KV cache that its kernels do not implement");
    }
    if (precision == "int8") {
      return PrecisionChoice{p.preferred_kv,
                             "int8: each block's 8-bit products add up exactly as integers before "
                             "one f32 scale (fastest; last bits differ from llama.cpp's order)"};
    }
    return PrecisionChoice{p.preferred_kv, p.precision_note};
  }
  const DType asked = precision == "f16" ? DType::F16 : DType::F32;
  if ((precision != "f16" && precision != "f32") || !has(asked))
    return unimplemented_precision(precision, "device '" + p.name + "'", p.int8_block_sums);
  return PrecisionChoice{asked, "set by precision"};
}

Result<std::unique_ptr<hal::Device>> kv_cache_device(const RuntimeConfig& c) {
  register_builtin_backends(c.backend != "cpu");
  AUTOGLM_ASSIGN_OR_RETURN(std::vector<std::string> names, resolve_backends(c.backend));
  // KV nodes go where their attention runs: the first listed device that stores and attends over
  // a cache, else the fallback device.
  if (c.fallback_policy == sched::FallbackPolicy::Cpu &&
      std::find(names.begin(), names.end(), "cpu") == names.end()) {
    names.push_back("cpu");
  }
  hal::DeviceOptions o;
  o.threads = 1;  // only asked, never run
  o.alignment = c.memory_alignment;
  for (const std::string& name : names) {
    AUTOGLM_ASSIGN_OR_RETURN(auto dev, hal::Registry::global().create(name, o));
    if (!hal::kv_cache_types(*dev).empty()) return dev;
  }
  return error(ErrorCode::Unsupported,
               "no device of backend '" + c.backend +
                   "' can hold a KV cache (its attention is not supported): add cpu to the list "
                   "or use fallback_policy cpu");
}

}  // namespace autoglm::runtime
