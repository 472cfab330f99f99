// The serving engine: continuous batching over a paged KV cache with automatic prefix reuse.
// Thread-safe: any thread may submit, read its handle and cancel; one engine thread runs the
// steps. No network code here: protocol adapters sit on top of this API.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "runtime/sampler.h"
#include "sched/split.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve {

struct EngineOptions {
  int64_t block_size = 16;  // tokens per KV block
  int64_t kv_tokens = 0;    // KV pool size in tokens (at least n_ctx); 0: from kv_memory
  // KV pool size in bytes when kv_tokens is 0: as many whole blocks as fit, so a Q8_0 cache
  // holds ~1.9x the tokens of an F16 one. 0 (and kv_tokens 0): 4 * n_ctx tokens.
  size_t kv_memory = 0;
  int64_t n_ctx = 0;            // longest sequence (prompt + output); 0: min(training ctx, 4096)
  DType kv_dtype = DType::F16;  // F16, F32 or Q8_0 (half of F16's bytes, small accuracy cost)
  int threads = 0;              // 0: physical cores
  std::string backend = "cpu";  // see runtime::RunnerOptions::backend
  sched::FallbackPolicy fallback = sched::FallbackPolicy::Cpu;
  size_t alignment = 0;           // minimum device buffer alignment; 0: each device's own
  bool int8_block_sums = false;   // precision int8 (see runtime::RunnerOptions)
  int64_t max_batch = 32;         // running sequences at most
  int64_t max_step_tokens = 512;  // token budget of one step (prefill chunks + decode tokens)
  size_t max_queue = 256;         // waiting requests at most; beyond that submit fails QueueFull
  bool prefix_cache = true;
  std::chrono::milliseconds prefix_ttl{0};  // 0: cached blocks live until evicted by LRU
  // Adaptive batching aims each step at this latency; 0 disables adaptation.
  std::chrono::milliseconds target_itl{0};
  // Times every kernel (a clock read per thread per op) into EngineStats::kernel_seconds_by_op,
  // for profiling; off in serving.
  bool kernel_timing = false;
};

struct Request {
  std::vector<int32_t> prompt;  // token ids (BOS included if wanted)
  int32_t max_tokens = 128;
  runtime::SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings: matched across token boundaries, not emitted
  bool ignore_eos = false;
  int32_t top_logprobs = -1;  // -1: no logprobs; 0..20: logprob of the chosen token + top n
  int32_t priority = 0;       // higher runs first; FIFO within a level
  std::chrono::milliseconds queue_timeout{0};  // 0: none
  std::chrono::milliseconds total_timeout{0};  // 0: none
};

enum class FinishReason { None, Stop, Length, Cancelled, Timeout, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", ...

struct TokenLogprob {
  int32_t token;
  float logprob;
};

// One increment of a request's output. The last event of a request has finish != None.
struct Event {
  // New token ids (may be empty on the final event). An end-of-generation token that stops
  // the request is not included (it counts in completion_tokens).
  std::vector<int32_t> tokens;
  std::string text;  // new text: complete UTF-8, stop strings never included
  // With top_logprobs >= 0, one entry per token in `tokens`: the chosen token's logprob, then
  // the top alternatives.
  std::vector<TokenLogprob> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  FinishReason finish = FinishReason::None;
  // Set when finish is Error, Timeout (QueueTimeout or DeadlineExceeded) or Cancelled
  // (Cancelled; Unavailable when the engine shut down first).
  Status status;
  // Filled on the final event.
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // reused from the prefix cache
  int64_t completion_tokens = 0;
  double queue_ms = 0, ttft_ms = 0, total_ms = 0;
};

class Engine;

// A submitted request's stream of events. Dropping the last reference cancels the request.
// Handles may outlive the engine; drop unfinished ones before destroying it from another thread
// (stop_admission and wait_idle first), since the drop calls into the engine.
class RequestHandle {
 public:
  ~RequestHandle();
  uint64_t id() const { return id_; }
  // Waits up to `timeout` for the next event; nullopt on timeout. After the final event,
  // returns nullopt at once.
  std::optional<Event> next(std::chrono::milliseconds timeout);
  // Asks the engine to stop the request; its final event (FinishReason::Cancelled) follows
  // within one step. Safe to call any number of times.
  void cancel();
  bool finished() const;  // the final event is queued

 private:
  friend class Engine;
  friend class EngineCore;
  RequestHandle(Engine* e, uint64_t id, std::shared_ptr<std::atomic<int64_t>> live);
  void push(Event ev);

  Engine* engine_;
  uint64_t id_;
  std::shared_ptr<std::atomic<int64_t>> live_;  // the engine's count of handles alive
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  bool done_ = false;     // final event pushed
  bool drained_ = false;  // final event taken
};

struct EngineStats {
  int64_t running = 0, waiting = 0;
  int64_t kv_blocks_total = 0, kv_blocks_used = 0, kv_blocks_free = 0, kv_blocks_cached = 0;
  int64_t prefix_queries_tokens = 0, prefix_hits_tokens = 0;  // cumulative
  // finished: ended by stop, length or error; cancelled and timed out are counted apart.
  int64_t requests_finished = 0, requests_cancelled = 0, requests_timed_out = 0,
          requests_rejected = 0, preemptions = 0;   // cumulative
  int64_t prompt_tokens = 0, generated_tokens = 0;  // cumulative
  int64_t steps = 0;                                // cumulative
  double last_step_ms = 0, last_step_tokens = 0;
  int64_t step_token_budget = 0, max_batch = 0;  // current adaptive limits
  int64_t open_handles = 0;                      // RequestHandles not yet destroyed
  // With EngineOptions::kernel_timing: cumulative kernel seconds by op kind
  // (hal::Stream::kernel_seconds_by_op), summed over the steps; empty otherwise.
  std::map<std::string, double> kernel_seconds_by_op;
};

// Latency samples (ms) observed since the last call, for histograms: each returned once.
struct LatencySamples {
  std::vector<double> queue_ms, ttft_ms, itl_ms, step_ms, request_ms;
};

class Engine {
 public:
  // Loads nothing: model and tokenizer must outlive the engine. Starts the engine thread.
  static Result<std::unique_ptr<Engine>> create(const model::Model& model,
                                                const tokenizer::Tokenizer& tok,
                                                const EngineOptions& opts);
  // Finishes what is left (Cancelled, status Unavailable) and joins the engine thread; handles
  // may outlive the engine.
  ~Engine();

  // InvalidArgument (empty prompt, bad token, bad sampling), OutOfRange (prompt + max_tokens
  // beyond n_ctx), QueueFull (waiting queue at max_queue), Unavailable (shutting down).
  Result<std::shared_ptr<RequestHandle>> submit(Request req);
  void cancel(uint64_t id);

  EngineStats stats() const;
  LatencySamples take_samples();
  const EngineOptions& options() const;  // as resolved: n_ctx and kv_tokens filled in
  const model::Model& model() const;
  // Where the graph's ops run: devices by name, splits and ops that fell back.
  struct Placement {
    std::vector<std::string> devices;
    size_t splits = 0, fallbacks = 0;
  };
  Placement placement() const;
  const tokenizer::Tokenizer& tokenizer() const;

  // Stops admitting (submit → Unavailable); running and waiting requests go on.
  void stop_admission();
  // Blocks until nothing is running or waiting, or the timeout passes; true when idle.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  Engine();
  friend class RequestHandle;
  std::unique_ptr<class EngineCore> core_;
};

}  // namespace autoglm::serve
