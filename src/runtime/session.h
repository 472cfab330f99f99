// A session: one model instance with its KV cache, graph and plan cache, evaluating one
// sequence of tokens incrementally.
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "hal/device.h"
#include "model/model.h"
#include "sched/executor.h"

namespace autoglm::runtime {

struct SessionOptions {
  int64_t n_ctx = 0;      // 0: min(model's training context, 4096)
  int64_t n_batch = 512;  // prompt tokens per graph run
  int threads = 0;        // 0: physical cores
  DType kv_dtype = DType::F16;
  std::string backend = "cpu";
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
  int64_t n_vocab() const { return model_.hparams().n_vocab; }
  size_t kv_bytes() const { return kv_bytes_; }
  const model::Model& model() const { return model_; }
  const model::ModelGraph& graph() const { return graph_; }
  hal::Device& device() { return *device_; }
  const sched::ExecutorStats& exec_stats() const { return executor_->stats(); }

 private:
  Session(const model::Model& m) : model_(m) {}
  // One graph run over up to n_batch tokens; the wanted logits rows, valid until the next run.
  Result<std::span<const float>> run_chunk(std::span<const int32_t> tokens, bool all_logits);

  const model::Model& model_;
  std::unique_ptr<hal::Device> device_;
  std::vector<std::unique_ptr<hal::Buffer>> kv_;
  size_t kv_bytes_ = 0;
  model::ModelGraph graph_;
  std::unique_ptr<sched::Executor> executor_;
  int64_t n_ctx_ = 0;
  int64_t n_batch_ = 512;
  int64_t n_past_ = 0;
  std::vector<float> logits_;  // all_logits results, gathered across chunks
  std::vector<int32_t> positions_, out_ids_;
};

// Registers the built-in backends once (idempotent).
void register_builtin_backends();

}  // namespace autoglm::runtime
