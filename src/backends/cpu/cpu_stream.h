// Executes splits on the CPU: each node is one ThreadPool::run over its kernel.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/cpu/kernels/packed_matmul.h"
#include "core/aligned.h"
#include "core/thread_pool.h"
#include "hal/device.h"

namespace autoglm::cpu {

class CpuStream : public hal::Stream {
 public:
  // order: how the packed kernels sum (SumOrder::Blocks for precision int8).
  CpuStream(ThreadPool& pool, SumOrder order)
      : pool_(pool),
        order_(order),
        part_seconds_(static_cast<size_t>(pool.size())),
        thread_scratch_(static_cast<size_t>(pool.size())) {}
  Status compute(const hal::SplitExec& split) override;
  void synchronize() override {}  // compute() is synchronous on the CPU
  void set_timing(bool on) override { timing_ = on; }
  double kernel_seconds() const override { return kernel_seconds_; }
  std::map<std::string, double> kernel_seconds_by_op() const override;

 private:
  Status run_node(const hal::NodeExec& ne);
  // MatMul nodes back to back on one input (q, k, v; gate, up), as one op: the input is
  // quantized once and every thread takes its rows of each.
  Status run_matmuls(std::span<const hal::NodeExec> group);
  void* scratch(size_t bytes);
  // Thread ith's own buffer of at least `bytes` (grown before the op that uses it).
  void* thread_scratch(int ith, size_t bytes);
  // The packed copy of a constant weight for the packed kernels, made on first use; null when
  // its type or the ISA has none (or memory ran out: the plain kernels still work).
  const PackedWeight* packed(const hal::TensorRef& w);
  // Runs fn in one part per thread: each thread streams one contiguous slice of the weights,
  // which the hardware prefetcher follows (four interleaved parts per thread measured 20 %
  // slower decode on 2 threads). A worker the OS schedules late does not stall the step: the
  // caller runs the parts nobody has taken. std::cref keeps the
  // std::function from allocating a copy of the lambda on every op of the decode step.
  // With timing on, each part is timed and the slowest one is the op's kernel time.
  // `work` estimates the op's single-thread cost in element-steps (an element read and written
  // by a cheap kernel is 1; exponentials count kExpWork): below kSerialWork, about the cost of a
  // hand-off to the other threads and back, the caller runs the op alone.
  template <typename Fn>
  void par(const Fn& fn, int64_t work = kSerialWork) {
    if (work < kSerialWork) {
      if (!timing_) return fn(0, 1);
      const auto t0 = Clock::now();
      fn(0, 1);
      kernel_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
      return;
    }
    if (!timing_) {
      pool_.run(std::cref(fn));
      return;
    }
    const auto timed = [&](int ith, int nth) {
      const auto t0 = Clock::now();
      fn(ith, nth);
      part_seconds_[static_cast<size_t>(ith)] =
          std::chrono::duration<double>(Clock::now() - t0).count();
    };
    pool_.run(std::cref(timed));
    kernel_seconds_ += *std::max_element(part_seconds_.begin(), part_seconds_.end());
  }

  using Clock = std::chrono::steady_clock;
  // A run of the pool costs about 1 us of hand-offs on a 2-core Sapphire Rapids VM, while an
  // element-step of the row kernels takes ~0.1 ns: one decode token's norms, adds, SwiGLU and
  // KV stores (0.2-0.3 us of work each) took 1.0-1.1 us in parallel.
  static constexpr int64_t kSerialWork = 8192;
  static constexpr int64_t kExpWork = 4;  // an element of SiLU, SwiGLU or softmax

  ThreadPool& pool_;
  SumOrder order_;
  std::vector<double> part_seconds_;  // [threads]: the current op's time in each part
  bool timing_ = false;
  double kernel_seconds_ = 0.0;
  // With timing on: kernel seconds per (op, weight type of a MatMul, else F32).
  std::map<std::pair<graph::OpKind, DType>, double> seconds_by_op_;
  double quantize_seconds_ = 0.0;  // of that, the MatMuls' activations quantized apart
  AlignedPtr scratch_;             // matmul activations; grows to the largest need, then is reused
  size_t scratch_bytes_ = 0;
  // [threads]: each thread's copy of a few quantized activation rows.
  struct ThreadBuffer {
    AlignedPtr data;
    size_t bytes = 0;
  };
  std::vector<ThreadBuffer> thread_scratch_;
  std::vector<const PackedWeight*> group_packed_;  // run_matmuls' packed weights, reused
  // One stream per device per executor, so these live exactly as long as the plans whose
  // weights they copy.
  std::unordered_map<const void*, PackedWeight> packed_;
};

}  // namespace autoglm::cpu
