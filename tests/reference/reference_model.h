// Where the reference tests find the default model and the goldens.
#pragma once

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace autoglm::reference {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// $AUTOGLM_MODEL, else $AUTOGLM_HOME/models/<file> (AUTOGLM_HOME defaults to ~/.cache/autoglm).
inline std::string model_path(const std::string& file_name = "SmolLM2-135M-Instruct.Q4_1.gguf") {
  const std::string home = env_or("AUTOGLM_HOME", env_or("HOME", ".") + "/.cache/autoglm");
  return env_or("AUTOGLM_MODEL", home + "/models/" + file_name);
}

inline constexpr const char* kFetchHint =
    "the default model is missing: run scripts/fetch_model.sh";

// Parses tests/reference/goldens/<name>; empty json when absent (the caller fails with a hint).
inline nlohmann::json load_golden(const std::string& name) {
  std::ifstream in(std::string(AUTOGLM_SOURCE_DIR) + "/tests/reference/goldens/" + name);
  if (!in) return {};
  return nlohmann::json::parse(in);
}

}  // namespace autoglm::reference
