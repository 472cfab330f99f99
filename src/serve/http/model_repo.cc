#include "serve/http/model_repo.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "serve/http/json_fields.h"

namespace autoglm::serve::http {

namespace fs = std::filesystem;

bool valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool valid_model_version(std::string_view version) {
  return !version.empty() && version.size() <= 9 &&
         std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string latest_version(const std::vector<std::string>& versions) {
  std::string best;
  for (const std::string& v : versions) {
    if (best.empty() || std::stoll(v) > std::stoll(best)) best = v;
  }
  return best;
}

Result<std::vector<ModelSpec>> scan_model_repository(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return error(ErrorCode::NotFound, "model repository " + dir +
                                          " is not a directory; lay it out as "
                                          "DIR/<name>/<version>/model.gguf");
  }
  std::vector<ModelSpec> specs;
  for (const auto& m : fs::directory_iterator(dir, ec)) {
    const std::string name = m.path().filename().string();
    if (!m.is_directory()) continue;
    if (!valid_model_name(name)) {
      std::cerr << "autoglm serve: skipping " << m.path().string()
                << ": model names are letters, digits, '.', '_' and '-'\n";
      continue;
    }
    for (const auto& v : fs::directory_iterator(m.path(), ec)) {
      const std::string version = v.path().filename().string();
      if (!v.is_directory()) continue;
      if (!valid_model_version(version)) {
        std::cerr << "autoglm serve: skipping " << v.path().string()
                  << ": versions are decimal numbers\n";
        continue;
      }
      // Probes use their own error code: a missing file is an answer, not a listing failure.
      std::error_code probe;
      const fs::path gguf = v.path() / "model.gguf";
      if (!fs::is_regular_file(gguf, probe)) {
        std::cerr << "autoglm serve: skipping " << v.path().string() << ": no model.gguf\n";
        continue;
      }
      const fs::path config = v.path() / "config.json";
      specs.push_back({name, version, gguf.string(),
                       fs::is_regular_file(config, probe) ? config.string() : std::string()});
    }
  }
  if (ec) return error(ErrorCode::IoError, "cannot list " + dir + ": " + ec.message());
  if (specs.empty()) {
    return error(ErrorCode::NotFound,
                 "model repository " + dir +
                     " holds no model; put each file at DIR/<name>/<version>/model.gguf");
  }
  std::sort(specs.begin(), specs.end(), [](const ModelSpec& a, const ModelSpec& b) {
    return a.name != b.name ? a.name < b.name : std::stoll(a.version) < std::stoll(b.version);
  });
  return specs;
}

ModelSpec single_model_spec(const std::string& file) {
  return {fs::path(file).stem().string(), "1", file, ""};
}

Result<EngineOptions> apply_model_config(const ModelSpec& spec, EngineOptions opts) {
  if (spec.config_path.empty()) return opts;
  std::ifstream in(spec.config_path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return error(ErrorCode::IoError, "cannot read " + spec.config_path);
  auto j = parse_json_object(ss.str());
  if (!j.ok())
    return error(ErrorCode::InvalidArgument, spec.config_path + ": " + j.status().message());
  static const char* kKeys[] = {"ctx",     "max_batch",  "max_queue",   "kv_tokens",
                                "threads", "block_size", "prefix_cache"};
  for (const auto& [key, value] : j->items()) {
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; }) ==
        std::end(kKeys)) {
      return error(ErrorCode::InvalidArgument,
                   spec.config_path + ": unknown key '" + key +
                       "'; known keys: ctx, max_batch, max_queue, kv_tokens, threads, block_size, "
                       "prefix_cache");
    }
  }
  Fields f(*j);
  int64_t max_queue = static_cast<int64_t>(opts.max_queue);
  f.get("ctx", opts.n_ctx, 0, int64_t{1} << 20);
  f.get("max_batch", opts.max_batch, 1, 4096);
  f.get("max_queue", max_queue, 0, int64_t{1} << 20);
  f.get("kv_tokens", opts.kv_tokens, 0, int64_t{1} << 30);
  f.get("threads", opts.threads, 0, 1024);
  f.get("block_size", opts.block_size, 1, 4096);
  f.get("prefix_cache", opts.prefix_cache);
  if (!f.ok())
    return error(ErrorCode::InvalidArgument, spec.config_path + ": " + f.status().message());
  opts.max_queue = static_cast<size_t>(max_queue);
  return opts;
}

}  // namespace autoglm::serve::http
