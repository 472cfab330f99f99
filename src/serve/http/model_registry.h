// The models a server serves, each with its own Engine, and routing by name and version.
// Thread-safe: models become visible one by one as they finish loading.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "serve/engine.h"
#include "serve/http/model_repo.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve::http {

struct ServedModel {
  std::string name, version, path;
  // Declared before the engine: the engine refers to both and is destroyed first.
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<Engine> engine;
};

// Loads the GGUF file, its tokenizer and an engine with the spec's config applied.
Result<std::shared_ptr<ServedModel>> load_served_model(const ModelSpec& spec,
                                                       const EngineOptions& base);

class ModelRegistry {
 public:
  // Every spec starts as "loading".
  explicit ModelRegistry(const std::vector<ModelSpec>& specs);

  void add_loaded(std::shared_ptr<ServedModel> m);
  bool all_loaded() const;

  // version empty: the highest loaded version. NotFound names the models that exist;
  // Unavailable while the model is still loading; InvalidArgument for a malformed name.
  Result<std::shared_ptr<ServedModel>> find(const std::string& name,
                                            const std::string& version) const;
  // Versions of a model (loaded or loading), ascending.
  std::vector<std::string> versions(const std::string& name) const;
  std::vector<std::shared_ptr<ServedModel>> loaded() const;  // sorted by name, version

 private:
  mutable std::mutex mu_;
  // name -> version -> model (null while loading)
  std::map<std::string, std::map<std::string, std::shared_ptr<ServedModel>>> models_;
};

}  // namespace autoglm::serve::http
