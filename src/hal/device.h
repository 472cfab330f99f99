// The hardware abstraction: where memory lives, what a device can do, how work is queued.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "graph/graph.h"
#include "hal/exec.h"

namespace autoglm::hal {

struct DeviceProps {
  std::string name;         // "cpu"
  std::string kind;         // "cpu", "gpu", "accelerator"
  std::string description;  // e.g. the processor model
  size_t memory_bytes = 0;
  size_t alignment = 64;
  std::string isa;  // CPU instruction set level or driver version
  int threads = 1;
  // Precision: the KV-cache type `precision: auto` picks on this device, and one line saying
  // why. It must be one of kv_cache_types(device) (hal/support_table.h). Activations are f32 on
  // every device (matmuls pair them with quantized weights as core/quant's
  // matmul_activation_type says, whatever the precision).
  DType preferred_kv = DType::F16;
  std::string precision_note;
  // `precision: int8` is implemented: quantized matmuls can add each block's integer products
  // exactly before scaling (faster; not bit-identical to llama.cpp's lane order).
  bool int8_block_sums = false;
};

class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual void* data() = 0;  // host-visible pointer (null for device-only memory)
  virtual size_t size() const = 0;
};

class BufferType {
 public:
  virtual ~BufferType() = default;
  virtual std::string name() const = 0;
  virtual size_t alignment() const = 0;
  // ResourceExhausted when the device cannot hold `bytes`.
  virtual Result<std::unique_ptr<Buffer>> allocate(size_t bytes) = 0;
};

class Stream {
 public:
  virtual ~Stream() = default;
  // Runs the split's nodes in order; may return before completion on async devices.
  virtual Status compute(const SplitExec& split) = 0;
  virtual void synchronize() = 0;  // waits for everything queued on this stream
  // Kernel timing, off by default (it costs a clock read per part of every node): while on,
  // kernel_seconds() grows by each node's time on its slowest thread, so a run's wall time
  // minus it is what lies outside the kernels (dispatch, waiting, the executor). A device that
  // does not measure it returns a negative value.
  virtual void set_timing(bool) {}
  virtual double kernel_seconds() const { return -1.0; }
  // kernel_seconds() by op kind ("RmsNormMul", "MatMul q4_1": a MatMul by its weight type; a
  // device may show part of an op's work apart, as the CPU does the MatMuls' input
  // quantization); empty when the device does not time its kernels.
  virtual std::map<std::string, double> kernel_seconds_by_op() const { return {}; }
};

class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceProps props() const = 0;
  // Whole-node capability: op, dtypes, shapes and layout.
  virtual bool supports(const graph::Graph& g, const graph::Node& n) const = 0;
  virtual BufferType& buffer_type() = 0;
  virtual std::unique_ptr<Stream> create_stream() = 0;
};

}  // namespace autoglm::hal
