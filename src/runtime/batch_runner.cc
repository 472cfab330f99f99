#include "runtime/batch_runner.h"

#include <algorithm>
#include <initializer_list>
#include <mutex>
#include <string>
#include <utility>

#include "backends/cpu/cpu_device.h"
#include "hal/plugin_loader.h"
#include "hal/registry.h"
#include "hal/support_table.h"

namespace autoglm::runtime {

void register_builtin_backends(bool plugins) {
  static std::once_flag cpu_once, plugins_once;
  std::call_once(cpu_once, [] { cpu::register_cpu_backend(hal::Registry::global()); });
  if (plugins) {
    std::call_once(plugins_once, [] { hal::load_default_plugins(hal::Registry::global()); });
  }
}

Status check_token_ids(std::span<const int32_t> tokens, int64_t n_vocab) {
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) {
      return error(ErrorCode::InvalidArgument,
                   "token id " + std::to_string(t) + " is outside the vocabulary");
    }
  }
  return {};
}

Result<std::vector<std::string>> resolve_backends(const std::string& spec) {
  const auto& known = hal::Registry::global().backends();
  std::vector<std::string> names;
  if (spec == "auto") {
    for (const auto& b : known) names.push_back(b.name);
    return names;
  }
  std::string available;
  for (const auto& b : known) available += (available.empty() ? "" : ", ") + b.name;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string name = spec.substr(start, comma - start);
    const bool registered = std::any_of(known.begin(), known.end(),
                                        [&](const hal::BackendEntry& b) { return b.name == name; });
    if (!registered) {
      return error(ErrorCode::InvalidArgument,
                   "backend '" + name +
                       "' is not available (accepted: auto, or a list of: " + available + ")");
    }
    names.push_back(name);
    start = comma + 1;
  }
  return names;
}

namespace {

// Which fusion passes may run: only those whose ops every device of the list runs (from its
// support table), since a fused op nobody runs would go to the fallback device and cut the graph.
graph::PassManager::Options fusion_options(const std::vector<hal::Device*>& devices,
                                           const RunnerOptions& opts) {
  auto all_run = [&](std::initializer_list<std::pair<graph::OpKind, DType>> ops) {
    return std::all_of(devices.begin(), devices.end(), [&](const hal::Device* d) {
      return std::all_of(ops.begin(), ops.end(),
                         [&](const auto& op) { return hal::supports_op(*d, op.first, op.second); });
    });
  };
  graph::PassManager::Options o;
  o.fuse = opts.fuse &&
           all_run({{graph::OpKind::RmsNormMul, DType::F32}, {graph::OpKind::SwiGlu, DType::F32}});
  o.fuse_rope = all_run(
      {{graph::OpKind::RopeKvStore, opts.kv_dtype}, {graph::OpKind::RopeAttention, opts.kv_dtype}});
  return o;
}

// One token's K (or V) row of one layer in the cache.
size_t kv_row_bytes(const model::HParams& hp, DType kv_dtype) {
  return dtype_row_bytes(kv_dtype, hp.n_head_kv * hp.head_dim);
}

std::span<const uint8_t> bytes_of(const std::vector<int32_t>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(int32_t)};
}

Status check_chunk(const SeqChunk& c, size_t index, const RunnerOptions& o, int64_t n_vocab) {
  const std::string which = "sequence " + std::to_string(index) + ": ";
  const auto n = static_cast<int64_t>(c.tokens.size());
  if (n == 0) return error(ErrorCode::InvalidArgument, which + "no tokens");
  if (c.pos < 0) return error(ErrorCode::InvalidArgument, which + "negative position");
  if (c.n_logits < 0 || c.n_logits > n) {
    return error(ErrorCode::InvalidArgument, which + "n_logits outside [0, tokens]");
  }
  const auto n_blocks = static_cast<int64_t>(c.blocks.size());
  if (n_blocks > o.max_blocks_per_seq || (c.pos + n) > n_blocks * o.block_size) {
    return error(ErrorCode::OutOfRange,
                 which + "positions up to " + std::to_string(c.pos + n) + " need " +
                     std::to_string((c.pos + n + o.block_size - 1) / o.block_size) +
                     " blocks; it has " + std::to_string(n_blocks) + " (at most " +
                     std::to_string(o.max_blocks_per_seq) + ")");
  }
  for (int32_t b : c.blocks) {
    if (b < 0 || b >= o.n_blocks) {
      return error(ErrorCode::InvalidArgument,
                   which + "block id " + std::to_string(b) + " is outside the pool");
    }
  }
  return check_token_ids(c.tokens, n_vocab);
}

}  // namespace

Result<std::unique_ptr<BatchRunner>> BatchRunner::create(const model::Model& model,
                                                         const RunnerOptions& opts) {
  if (opts.block_size <= 0 || opts.n_blocks <= 0 || opts.max_blocks_per_seq <= 0) {
    return error(ErrorCode::InvalidArgument,
                 "the KV cache needs a positive block size, block count and blocks per sequence");
  }
  if (opts.kv_dtype != DType::F16 && opts.kv_dtype != DType::F32 && opts.kv_dtype != DType::Q8_0) {
    return error(ErrorCode::InvalidArgument, "KV cache type must be f16, f32 or q8_0");
  }
  // Q8_0 blocks of 32 must not straddle two heads: attention reads one head's slice of a row.
  if (opts.kv_dtype == DType::Q8_0 && model.hparams().head_dim % kQK8_0 != 0) {
    return error(ErrorCode::InvalidArgument,
                 "a q8_0 KV cache needs a head size that is a multiple of 32; this model's is " +
                     std::to_string(model.hparams().head_dim) + ": use kv_dtype f16");
  }
  // A CPU-only runner leaves plugins unloaded: it would pay for driver stacks it never uses (PoCL
  // alone maps ~55 MB of LLVM).
  register_builtin_backends(opts.backend != "cpu");
  std::unique_ptr<BatchRunner> r(new BatchRunner(model, opts));
  hal::DeviceOptions dopts;
  dopts.threads = opts.threads;
  dopts.alignment = opts.alignment;
  dopts.int8_block_sums = opts.int8_block_sums;
  AUTOGLM_ASSIGN_OR_RETURN(auto names, resolve_backends(opts.backend));
  sched::PlacementOptions po;
  po.policy = opts.fallback;
  for (const std::string& name : names) {
    AUTOGLM_ASSIGN_OR_RETURN(auto dev, hal::Registry::global().create(name, dopts));
    po.devices.push_back(dev.get());
    if (name == "cpu") po.fallback = dev.get();
    r->devices_.push_back(std::move(dev));
  }
  if (!po.fallback && opts.fallback == sched::FallbackPolicy::Cpu) {
    AUTOGLM_ASSIGN_OR_RETURN(auto cpu, hal::Registry::global().create("cpu", dopts));
    po.fallback = cpu.get();
    r->devices_.push_back(std::move(cpu));
  }

  const model::HParams& hp = model.hparams();
  const size_t layer_bytes =
      kv_row_bytes(hp, opts.kv_dtype) * static_cast<size_t>(opts.n_blocks * opts.block_size);
  std::vector<sched::StateBinding> state;
  for (int64_t i = 0; i < 2 * hp.n_layer; ++i) {
    AUTOGLM_ASSIGN_OR_RETURN(auto buf, r->device().buffer_type().allocate(layer_bytes));
    state.push_back({buf->data(), buf->size()});
    r->kv_bytes_ += buf->size();
    r->kv_.push_back(std::move(buf));
  }
  model::KvLayout layout;
  layout.n_blocks = opts.n_blocks;
  layout.block_size = opts.block_size;
  layout.table_width = opts.max_blocks_per_seq;
  layout.dtype = opts.kv_dtype;
  AUTOGLM_ASSIGN_OR_RETURN(r->graph_, model.build_graph(layout, fusion_options(po.devices, opts)));
  AUTOGLM_ASSIGN_OR_RETURN(r->executor_,
                           sched::Executor::create(r->graph_.graph, po, std::move(state)));
  return r;
}

size_t BatchRunner::kv_bytes_per_token(const model::HParams& hp, DType kv_dtype) {
  return 2 * static_cast<size_t>(hp.n_layer) * kv_row_bytes(hp, kv_dtype);
}

Result<size_t> BatchRunner::crossing_bytes(int64_t n_tokens, int64_t n_seqs) {
  graph::Bindings b(graph_.graph.symbols().size());
  b[graph_.n_tokens] = n_tokens;
  b[graph_.n_outputs] = n_seqs;
  b[graph_.n_seqs] = n_seqs;
  AUTOGLM_ASSIGN_OR_RETURN(const sched::Plan* plan, executor_->plan_for(b));
  return plan->crossing_bytes;
}

Result<std::span<const float>> BatchRunner::step(std::span<const SeqChunk> chunks) {
  if (chunks.empty()) return error(ErrorCode::InvalidArgument, "nothing to run: no sequences");
  tokens_.clear();
  positions_.clear();
  slots_.clear();
  tok_seq_.clear();
  out_ids_.clear();
  const int64_t width = opts_.max_blocks_per_seq, bs = opts_.block_size;
  block_tables_.assign(chunks.size() * static_cast<size_t>(width), 0);
  for (size_t s = 0; s < chunks.size(); ++s) {
    const SeqChunk& c = chunks[s];
    AUTOGLM_RETURN_IF_ERROR(check_chunk(c, s, opts_, n_vocab()));
    std::copy(c.blocks.begin(), c.blocks.end(), block_tables_.begin() + s * width);
    const auto n = static_cast<int64_t>(c.tokens.size());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t pos = c.pos + i;
      if (i >= n - c.n_logits) out_ids_.push_back(static_cast<int32_t>(tokens_.size()));
      tokens_.push_back(c.tokens[i]);
      positions_.push_back(static_cast<int32_t>(pos));
      slots_.push_back(static_cast<int32_t>(c.blocks[pos / bs] * bs + pos % bs));
      tok_seq_.push_back(static_cast<int32_t>(s));
    }
  }
  // A step that only extends prompts still computes one logits row: a graph with zero output
  // rows is not worth a special case in every kernel.
  const bool none_wanted = out_ids_.empty();
  if (none_wanted) out_ids_.push_back(0);

  graph::Bindings b(graph_.graph.symbols().size());
  b[graph_.n_tokens] = static_cast<int64_t>(tokens_.size());
  b[graph_.n_outputs] = static_cast<int64_t>(out_ids_.size());
  b[graph_.n_seqs] = static_cast<int64_t>(chunks.size());
  const sched::Executor::Input inputs[] = {
      {graph_.tokens, bytes_of(tokens_)},
      {graph_.positions, bytes_of(positions_)},
      {graph_.kv_slots, bytes_of(slots_)},
      {graph_.tok_seq, bytes_of(tok_seq_)},
      {graph_.block_tables, bytes_of(block_tables_)},
      {graph_.out_ids, bytes_of(out_ids_)},
  };
  AUTOGLM_ASSIGN_OR_RETURN(const sched::Plan* plan, executor_->run(b, inputs));
  if (none_wanted) return std::span<const float>();
  const hal::TensorRef& out = plan->tensors[graph_.logits];  // [n_out, n_vocab]
  return std::span<const float>(static_cast<const float*>(out.data),
                                static_cast<size_t>(out.desc.elements()));
}

}  // namespace autoglm::runtime
