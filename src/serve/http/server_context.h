// State every protocol adapter shares: the models, limits, metrics, drain flag and request log.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "serve/http/auth.h"
#include "serve/http/generation.h"
#include "serve/http/model_registry.h"
#include "serve/http/server_metrics.h"

namespace autoglm::serve::http {

struct ServerConfig {
  ApiKeys api_keys;
  size_t max_body_bytes = 4 << 20;
  Limits limits;
  int http_threads = 128;  // connections served at once (streams hold one each)
};

class ServerContext {
 public:
  ServerContext(ModelRegistry& registry, ServerConfig config);

  ModelRegistry& registry;
  const ServerConfig config;
  ServerMetrics metrics;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};  // inference calls not yet fully answered
  // Set when the drain grace period is over: waiting calls cancel their requests and return.
  std::atomic<bool> abort_calls{false};

  bool ready() const { return !draining && registry.all_loaded(); }
  // "cmpl-3f2a…-17": unique per process run.
  std::string next_request_id();
  // One JSON object per line on stderr; lines never interleave.
  void log(const nlohmann::ordered_json& line);

 private:
  std::atomic<uint64_t> counter_{0};
  std::string run_tag_;
  std::mutex log_mu_;
};

}  // namespace autoglm::serve::http
