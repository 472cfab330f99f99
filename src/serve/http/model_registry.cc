#include "serve/http/model_registry.h"

#include <algorithm>

namespace autoglm::serve::http {

Result<std::shared_ptr<ServedModel>> load_served_model(const ModelSpec& spec,
                                                       const EngineOptions& base) {
  AUTOGLM_ASSIGN_OR_RETURN(EngineOptions opts, apply_model_config(spec, base));
  auto m = std::make_shared<ServedModel>();
  m->name = spec.name;
  m->version = spec.version;
  m->path = spec.path;
  AUTOGLM_ASSIGN_OR_RETURN(m->model, model::Model::load(spec.path));
  AUTOGLM_ASSIGN_OR_RETURN(m->tokenizer, tokenizer::Tokenizer::from_gguf(m->model->file()));
  AUTOGLM_ASSIGN_OR_RETURN(m->engine, Engine::create(*m->model, *m->tokenizer, opts));
  return m;
}

ModelRegistry::ModelRegistry(const std::vector<ModelSpec>& specs) {
  for (const ModelSpec& s : specs) models_[s.name][s.version] = nullptr;
}

void ModelRegistry::add_loaded(std::shared_ptr<ServedModel> m) {
  std::lock_guard lock(mu_);
  models_[m->name][m->version] = std::move(m);
}

bool ModelRegistry::all_loaded() const {
  std::lock_guard lock(mu_);
  for (const auto& [name, versions] : models_) {
    for (const auto& [v, m] : versions) {
      if (!m) return false;
    }
  }
  return true;
}

Result<std::shared_ptr<ServedModel>> ModelRegistry::find(const std::string& name,
                                                         const std::string& version) const {
  if (!valid_model_name(name)) {
    return error(ErrorCode::InvalidArgument,
                 "model name '" + name + "' is not valid: use letters, digits, '.', '_', '-'");
  }
  if (!version.empty() && !valid_model_version(version)) {
    return error(ErrorCode::InvalidArgument,
                 "model version '" + version + "' is not valid: versions are decimal numbers");
  }
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) {
    std::string known;
    for (const auto& [n, v] : models_) known += (known.empty() ? "" : ", ") + n;
    return error(ErrorCode::NotFound,
                 "model '" + name + "' is not served here; available: " + known);
  }
  std::string v = version;
  if (v.empty()) {
    // Latest among the loaded versions, so a loaded model answers while a newer one loads.
    std::vector<std::string> ready;
    for (const auto& [ver, m] : it->second) {
      if (m) ready.push_back(ver);
    }
    if (ready.empty()) {
      return error(
          ErrorCode::Unavailable,
          "model '" + name + "' is still loading; retry when /v2/health/ready answers 200");
    }
    v = latest_version(ready);
  }
  auto vit = it->second.find(v);
  if (vit == it->second.end()) {
    std::string known;
    for (const auto& [ver, m] : it->second) known += (known.empty() ? "" : ", ") + ver;
    return error(ErrorCode::NotFound,
                 "model '" + name + "' has no version " + v + "; available versions: " + known);
  }
  if (!vit->second) {
    return error(ErrorCode::Unavailable, "model '" + name + "' version " + v +
                                             " is still loading; retry when "
                                             "/v2/health/ready answers 200");
  }
  return vit->second;
}

std::vector<std::string> ModelRegistry::versions(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  auto it = models_.find(name);
  if (it == models_.end()) return out;
  for (const auto& [v, m] : it->second) out.push_back(v);
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return std::stoll(a) < std::stoll(b);
  });
  return out;
}

std::vector<std::shared_ptr<ServedModel>> ModelRegistry::loaded() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ServedModel>> out;
  for (const auto& [name, versions] : models_) {
    for (const auto& [v, m] : versions) {
      if (m) out.push_back(m);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->name != b->name ? a->name < b->name : std::stoll(a->version) < std::stoll(b->version);
  });
  return out;
}

}  // namespace autoglm::serve::http
