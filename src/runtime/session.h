// A session: one sequence evaluated incrementally on its own BatchRunner, whose paged KV cache
// it lays out contiguously (block i holds positions [i*bs, (i+1)*bs)).
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/batch_runner.h"

namespace autoglm::runtime {

struct SessionOptions {
  int64_t n_ctx = 0;      // 0: min(model's training context, 4096)
  int64_t n_batch = 512;  // prompt tokens per graph run
  int threads = 0;        // 0: physical cores
  DType kv_dtype = DType::F16;
  std::string backend = "cpu";  // see RunnerOptions::backend
  sched::FallbackPolicy fallback = sched::FallbackPolicy::Cpu;
  size_t alignment = 0;
  bool int8_block_sums = false;  // see RunnerOptions
};

class Session {
 public:
  // Creates the device, the KV cache and the graph; errors say what to change.
  static Result<std::unique_ptr<Session>> create(const model::Model& model,
                                                 const SessionOptions& opts);

  // Appends tokens to the sequence and returns logits [n_vocab] of the last one, or with
  // all_logits [tokens.size(), n_vocab]; valid until the next decode. OutOfRange when the
  // context would overflow.
  Result<std::span<const float>> decode(std::span<const int32_t> tokens, bool all_logits = false);

  void reset() { n_past_ = 0; }
  // Forgets every token after the first n (their KV rows are overwritten by later decodes).
  void truncate(int64_t n) { n_past_ = std::min(n_past_, std::max<int64_t>(n, 0)); }
  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_vocab() const { return runner_->n_vocab(); }
  size_t kv_bytes() const { return runner_->kv_bytes(); }
  const model::Model& model() const { return runner_->model(); }
  const model::ModelGraph& graph() const { return runner_->graph(); }
  hal::Device& device() { return runner_->device(); }
  BatchRunner& runner() { return *runner_; }
  const sched::ExecutorStats& exec_stats() const { return runner_->exec_stats(); }

 private:
  Session() = default;

  std::unique_ptr<BatchRunner> runner_;
  std::vector<int32_t> blocks_;  // identity block table: 0, 1, 2, ...
  int64_t n_ctx_ = 0;
  int64_t n_batch_ = 512;
  int64_t n_past_ = 0;
  std::vector<float> logits_;  // all_logits results, gathered across chunks
};

}  // namespace autoglm::runtime
