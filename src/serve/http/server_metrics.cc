#include "serve/http/server_metrics.h"

namespace autoglm::serve::http {
namespace {

std::vector<double> request_buckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}
std::vector<double> token_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

}  // namespace

ServerMetrics::PerModel::PerModel()
    : latency(request_buckets()),
      queue(request_buckets()),
      ttft(request_buckets()),
      itl(token_buckets()) {}

ServerMetrics::PerModel& ServerMetrics::model_locked(const std::string& model,
                                                     const std::string& version) {
  return per_model_.try_emplace({model, version}).first->second;
}

void ServerMetrics::count_request(const std::string& model, const std::string& version,
                                  int http_status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{model, version, std::to_string(http_status)}];
  if (!model.empty()) model_locked(model, version).latency.observe(seconds);
}

std::string ServerMetrics::render(const std::vector<EngineSnapshot>& engines, bool ready,
                                  bool draining) {
  std::lock_guard lock(mu_);
  for (const EngineSnapshot& e : engines) {
    PerModel& m = model_locked(e.model, e.version);
    for (double ms : e.samples.queue_ms) m.queue.observe(ms / 1000);
    for (double ms : e.samples.ttft_ms) m.ttft.observe(ms / 1000);
    for (double ms : e.samples.itl_ms) m.itl.observe(ms / 1000);
  }
  PromWriter w;
  w.family("inference_requests_total", "counter",
           "HTTP inference calls by model, version and HTTP status");
  for (const auto& [key, n] : requests_) {
    const auto& [model, version, status] = key;
    w.sample("inference_requests_total",
             {{"model", model}, {"version", version}, {"status", status}}, static_cast<double>(n));
  }
  struct Hist {
    const char* name;
    const char* help;
    Histogram PerModel::*h;
  };
  const Hist hists[] = {
      {"inference_latency_seconds", "End-to-end time of an inference call", &PerModel::latency},
      {"inference_queue_seconds", "Time a request waited before its first step", &PerModel::queue},
      {"inference_time_to_first_token_seconds", "Time from submission to the first token",
       &PerModel::ttft},
      {"inference_inter_token_seconds", "Time between consecutive tokens of a request",
       &PerModel::itl},
  };
  for (const Hist& h : hists) {
    w.family(h.name, "histogram", h.help);
    for (const auto& [key, m] : per_model_) {
      w.histogram(h.name, {{"model", key.first}, {"version", key.second}}, m.*(h.h));
    }
  }
  struct Stat {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const EngineStats&);
  };
  const Stat stats[] = {
      {"inference_prompt_tokens_total", "counter", "Prompt tokens admitted",
       [](const EngineStats& s) { return double(s.prompt_tokens); }},
      {"inference_generated_tokens_total", "counter", "Tokens generated",
       [](const EngineStats& s) { return double(s.generated_tokens); }},
      {"inference_requests_running", "gauge", "Requests in the running batch",
       [](const EngineStats& s) { return double(s.running); }},
      {"inference_requests_waiting", "gauge", "Requests waiting for admission",
       [](const EngineStats& s) { return double(s.waiting); }},
      {"inference_requests_finished_total", "counter", "Requests the engine finished",
       [](const EngineStats& s) { return double(s.requests_finished); }},
      {"inference_requests_cancelled_total", "counter",
       "Requests cancelled (client disconnect or shutdown)",
       [](const EngineStats& s) { return double(s.requests_cancelled); }},
      {"inference_requests_timed_out_total", "counter", "Requests past their deadline",
       [](const EngineStats& s) { return double(s.requests_timed_out); }},
      {"inference_requests_rejected_total", "counter", "Requests refused at admission",
       [](const EngineStats& s) { return double(s.requests_rejected); }},
      {"inference_preemptions_total", "counter", "Sequences preempted to free KV blocks",
       [](const EngineStats& s) { return double(s.preemptions); }},
      {"inference_kv_blocks_total", "gauge", "KV cache blocks in the pool",
       [](const EngineStats& s) { return double(s.kv_blocks_total); }},
      {"inference_kv_blocks_used", "gauge", "KV cache blocks held by sequences",
       [](const EngineStats& s) { return double(s.kv_blocks_used); }},
      {"inference_kv_blocks_cached", "gauge", "Free KV blocks kept for prefix reuse",
       [](const EngineStats& s) { return double(s.kv_blocks_cached); }},
      {"inference_kv_usage_ratio", "gauge", "Fraction of KV blocks in use",
       [](const EngineStats& s) {
         return s.kv_blocks_total > 0 ? double(s.kv_blocks_used) / double(s.kv_blocks_total) : 0.0;
       }},
      {"inference_prefix_cache_queries_tokens_total", "counter",
       "Prompt tokens looked up in the prefix cache",
       [](const EngineStats& s) { return double(s.prefix_queries_tokens); }},
      {"inference_prefix_cache_hits_tokens_total", "counter",
       "Prompt tokens found in the prefix cache",
       [](const EngineStats& s) { return double(s.prefix_hits_tokens); }},
      {"inference_engine_steps_total", "counter", "Engine steps run",
       [](const EngineStats& s) { return double(s.steps); }},
      {"inference_open_handles", "gauge", "Request handles not yet released",
       [](const EngineStats& s) { return double(s.open_handles); }},
  };
  for (const Stat& st : stats) {
    w.family(st.name, st.type, st.help);
    for (const EngineSnapshot& e : engines) {
      w.sample(st.name, {{"model", e.model}, {"version", e.version}}, st.get(e.stats));
    }
  }
  w.family("inference_server_ready", "gauge", "1 when every model is loaded and not draining");
  w.sample("inference_server_ready", {}, ready && !draining ? 1 : 0);
  w.family("inference_server_draining", "gauge", "1 after SIGTERM/SIGINT, until exit");
  w.sample("inference_server_draining", {}, draining ? 1 : 0);
  return w.text();
}

}  // namespace autoglm::serve::http
