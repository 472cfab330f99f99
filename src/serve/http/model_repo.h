// A model repository on disk: DIR/<name>/<version>/model.gguf with an optional config.json
// next to it. Names and versions are validated so nothing in them can reach outside DIR.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serve/engine.h"

namespace autoglm::serve::http {

struct ModelSpec {
  std::string name;
  std::string version;      // decimal digits; the highest is "latest"
  std::string path;         // the GGUF file
  std::string config_path;  // config.json, empty when absent
};

// [A-Za-z0-9][A-Za-z0-9._-]{0,127}: no separators, no "." or "..", nothing hidden.
bool valid_model_name(std::string_view name);
// 1 to 9 decimal digits.
bool valid_model_version(std::string_view version);

// Every DIR/<name>/<version>/model.gguf, sorted by name then numeric version. Entries with
// invalid names are skipped with a warning on stderr; NotFound when DIR holds no model at all.
Result<std::vector<ModelSpec>> scan_model_repository(const std::string& dir);

// One file served as model <file stem>, version "1".
ModelSpec single_model_spec(const std::string& file);

// Applies a version's config.json (engine keys: ctx, max_batch, max_queue, kv_tokens, threads,
// block_size, prefix_cache) over the server-wide options. Errors name the file and the key.
Result<EngineOptions> apply_model_config(const ModelSpec& spec, EngineOptions opts);

// Highest numeric version in the list; empty when the list is.
std::string latest_version(const std::vector<std::string>& versions);

}  // namespace autoglm::serve::http
