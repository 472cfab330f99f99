// The engine behind serve::Engine: the waiting queue (shared with submitting threads) and the
// engine thread, which admits, schedules and runs one BatchRunner step at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/batch_runner.h"
#include "serve/adaptive_batch.h"
#include "serve/block_manager.h"
#include "serve/engine.h"
#include "serve/prefix_cache.h"
#include "serve/sequence.h"

namespace autoglm::serve {

class EngineCore {
 public:
  static Result<std::unique_ptr<EngineCore>> create(Engine* owner, const model::Model& model,
                                                    const tokenizer::Tokenizer& tok,
                                                    const EngineOptions& opts);
  ~EngineCore();  // finishes what is left (Cancelled) and joins the engine thread

  Result<std::shared_ptr<RequestHandle>> submit(Request req);
  void cancel(uint64_t id);
  EngineStats stats() const;
  LatencySamples take_samples();
  void stop_admission();
  bool wait_idle(std::chrono::milliseconds timeout);

  const EngineOptions& options() const { return opts_; }
  const model::Model& model() const { return model_; }
  const runtime::BatchRunner& runner() const { return *runner_; }
  const tokenizer::Tokenizer& tokenizer() const { return tok_; }

 private:
  // Waiting order: higher priority first, FIFO within a level.
  using WaitKey = std::pair<int64_t, uint64_t>;  // (-priority, arrival)
  using SeqPtr = std::unique_ptr<Sequence>;
  struct Planned {
    Sequence* seq;
    int64_t n_tokens;
  };

  EngineCore(Engine* owner, const model::Model& m, const tokenizer::Tokenizer& t,
             const EngineOptions& o);
  Status validate(const Request& req) const;

  void run();  // the engine thread
  void iteration(std::vector<uint64_t> cancels);
  void apply_cancels(const std::vector<uint64_t>& ids);
  void expire_deadlines(Clock::time_point now);
  void admit(Clock::time_point now);
  void plan_step();
  // Grows s's table to n_tokens, preempting the lowest-ranked running sequences as needed;
  // false when s itself had to go.
  bool reserve(Sequence& s, int64_t n_tokens);
  void preempt(Sequence& victim);
  void run_step();
  void produce_token(Sequence& s, std::span<const float> logits);
  // Sends s's final event and frees its blocks; the caller drops s from its list.
  void finish(Sequence& s, FinishReason why, Status st, Event ev);
  void emit(Sequence& s, Event ev);
  void sweep_running();
  void record_step(double step_ms, int64_t step_tokens);
  void publish_blocks();  // under mu_
  void publish_stats();

  Engine* owner_;
  const model::Model& model_;
  const tokenizer::Tokenizer& tok_;
  EngineOptions opts_;
  int64_t n_vocab_ = 0;
  std::unique_ptr<runtime::BatchRunner> runner_;
  std::unique_ptr<PrefixCache> prefix_;
  std::unique_ptr<BlockManager> blocks_;
  AdaptiveBatch adaptive_;
  std::shared_ptr<std::atomic<int64_t>> live_handles_ = std::make_shared<std::atomic<int64_t>>(0);

  // Engine thread only.
  std::vector<SeqPtr> running_;  // in Sequence::before order
  std::vector<Planned> plan_;
  std::vector<runtime::SeqChunk> chunks_;

  // Shared: guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;       // work for the engine thread
  std::condition_variable idle_cv_;  // nothing running or waiting
  std::map<WaitKey, SeqPtr> waiting_;
  std::vector<uint64_t> cancels_;
  uint64_t next_id_ = 1;
  bool shutdown_ = false, admitting_ = true;
  int64_t running_count_ = 0;
  EngineStats stats_;
  LatencySamples samples_;

  std::thread thread_;
};

}  // namespace autoglm::serve
