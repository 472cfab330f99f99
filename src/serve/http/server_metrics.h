// The server's /metrics: request counts and latencies seen by the HTTP layer plus each engine's
// gauges, counters and latency samples.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "serve/engine.h"
#include "serve/http/prom_text.h"

namespace autoglm::serve::http {

// One engine's state at scrape time.
struct EngineSnapshot {
  std::string model, version;
  EngineStats stats;
  LatencySamples samples;  // taken from the engine by this scrape
};

class ServerMetrics {
 public:
  // One finished HTTP call. model empty: the call never reached a model (bad request, 404).
  void count_request(const std::string& model, const std::string& version, int http_status,
                     double seconds);
  // Prometheus text; folds the engines' latency samples into the histograms first.
  std::string render(const std::vector<EngineSnapshot>& engines, bool ready, bool draining);

 private:
  struct PerModel {
    PerModel();
    Histogram latency, queue, ttft, itl;
  };
  PerModel& model_locked(const std::string& model, const std::string& version);

  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, PerModel> per_model_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests_;
};

}  // namespace autoglm::serve::http
