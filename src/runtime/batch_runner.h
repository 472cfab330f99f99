// One graph execution for many sequences at once over a paged KV cache: the step the serving
// engine runs. Each sequence brings its new tokens, the position of the first one and its block
// table; K/V rows live in fixed-size blocks of a shared pool, so sequences of any length share
// one memory budget and full blocks can be shared between sequences (prefix reuse).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "hal/device.h"
#include "model/model.h"
#include "sched/executor.h"

namespace autoglm::runtime {

struct RunnerOptions {
  int64_t block_size = 16;         // tokens per KV block
  int64_t n_blocks = 0;            // blocks in the pool (must be > 0)
  int64_t max_blocks_per_seq = 0;  // block-table width: longest sequence / block_size, rounded up
  DType kv_dtype = DType::F16;     // F16, F32 or Q8_0 (head_dim a multiple of 32)
  int threads = 0;                 // 0: physical cores
  // "auto" (every registered backend by priority), a backend name, or a comma-separated
  // priority list ("opencl,cpu"). Each op runs on the first device that supports it.
  std::string backend = "cpu";
  sched::FallbackPolicy fallback = sched::FallbackPolicy::Cpu;  // for ops none of them supports
  size_t alignment = 0;          // minimum device buffer alignment; 0: each device's own
  bool fuse = true;              // fusion passes, where every chosen device runs the fused ops
  bool int8_block_sums = false;  // precision int8 (hal::DeviceOptions::int8_block_sums)
};

// The tokens one sequence adds in a step.
struct SeqChunk {
  std::span<const int32_t> tokens;  // new tokens (>= 1)
  int64_t pos = 0;                  // position of tokens[0]: tokens already in this sequence's KV
  // Physical block of positions [i*block_size, (i+1)*block_size) for every block that
  // positions [0, pos + tokens.size()) touch. Blocks holding positions < pos must already
  // hold their K/V rows (written by an earlier step of this or another sequence).
  std::span<const int32_t> blocks;
  int64_t n_logits = 1;  // logits rows wanted: of the last n_logits tokens (0..tokens.size())
};

class BatchRunner {
 public:
  // Creates the device, the KV pool and the graph; errors say what to change.
  static Result<std::unique_ptr<BatchRunner>> create(const model::Model& model,
                                                     const RunnerOptions& opts);

  // Runs all chunks in one graph execution. Returns logits [sum of n_logits, n_vocab] in chunk
  // order, valid until the next step. InvalidArgument for a bad token id, position or block id.
  Result<std::span<const float>> step(std::span<const SeqChunk> chunks);

  const RunnerOptions& options() const { return opts_; }
  int64_t n_vocab() const { return model_.hparams().n_vocab; }
  size_t kv_bytes() const { return kv_bytes_; }
  // Bytes one token takes in the KV cache: a K and a V row per layer.
  static size_t kv_bytes_per_token(const model::HParams& hp, DType kv_dtype);
  const model::Model& model() const { return model_; }
  const model::ModelGraph& graph() const { return graph_; }
  // The preferred device (the first of the backend list).
  hal::Device& device() { return *devices_.front(); }
  const std::vector<std::unique_ptr<hal::Device>>& devices() const { return devices_; }
  const sched::Placement& placement() const { return executor_->placement(); }
  // Bytes read across device cuts by a step of n_tokens tokens from n_seqs sequences, each
  // wanting one logits row (plans that shape if needed).
  Result<size_t> crossing_bytes(int64_t n_tokens, int64_t n_seqs);
  const sched::ExecutorStats& exec_stats() const { return executor_->stats(); }
  void set_kernel_timing(bool on) { executor_->set_kernel_timing(on); }
  double kernel_seconds() const { return executor_->kernel_seconds(); }
  std::map<std::string, double> kernel_seconds_by_op() const {
    return executor_->kernel_seconds_by_op();
  }

 private:
  BatchRunner(const model::Model& m, const RunnerOptions& o) : model_(m), opts_(o) {}

  const model::Model& model_;
  RunnerOptions opts_;
  std::vector<std::unique_ptr<hal::Device>> devices_;  // backend list order, then the CPU
  std::vector<std::unique_ptr<hal::Buffer>> kv_;
  size_t kv_bytes_ = 0;
  model::ModelGraph graph_;
  std::unique_ptr<sched::Executor> executor_;
  // Per-step inputs, reused so a step allocates nothing once warm.
  std::vector<int32_t> tokens_, positions_, slots_, tok_seq_, block_tables_, out_ids_;
};

// InvalidArgument naming the first id outside [0, n_vocab).
Status check_token_ids(std::span<const int32_t> tokens, int64_t n_vocab);

// Registers the CPU backend and, with `plugins`, the out-of-tree ones (plugin_loader.h); each once.
void register_builtin_backends(bool plugins = true);

// Backend names for a backend setting: "auto" gives every registered backend by priority;
// otherwise a name or comma-separated list, each checked against the registry.
Result<std::vector<std::string>> resolve_backends(const std::string& spec);

}  // namespace autoglm::runtime
