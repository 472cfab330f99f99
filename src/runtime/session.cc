#include "runtime/session.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "backends/cpu/cpu_device.h"
#include "hal/registry.h"

namespace autoglm::runtime {

void register_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, [] { cpu::register_cpu_backend(hal::Registry::global()); });
}

Result<std::unique_ptr<Session>> Session::create(const model::Model& model,
                                                 const SessionOptions& opts) {
  register_builtin_backends();
  std::unique_ptr<Session> s(new Session(model));
  const model::HParams& hp = model.hparams();
  s->n_ctx_ = opts.n_ctx > 0 ? opts.n_ctx : std::min<int64_t>(hp.n_ctx_train, 4096);
  if (s->n_ctx_ > hp.n_ctx_train) {
    return error(ErrorCode::InvalidArgument, "context " + std::to_string(s->n_ctx_) +
                                                 " exceeds the model's training context of " +
                                                 std::to_string(hp.n_ctx_train) + " tokens");
  }
  if (opts.n_batch <= 0) return error(ErrorCode::InvalidArgument, "batch size must be positive");
  s->n_batch_ = opts.n_batch;
  if (opts.kv_dtype != DType::F16 && opts.kv_dtype != DType::F32) {
    return error(ErrorCode::InvalidArgument, "KV cache type must be f16 or f32");
  }
  hal::DeviceOptions dopts;
  dopts.threads = opts.threads;
  AUTOGLM_ASSIGN_OR_RETURN(s->device_, hal::Registry::global().create(opts.backend, dopts));

  const size_t row = dtype_row_bytes(opts.kv_dtype, hp.n_head_kv * hp.head_dim);
  std::vector<sched::StateBinding> state;
  for (int64_t i = 0; i < 2 * hp.n_layer; ++i) {
    AUTOGLM_ASSIGN_OR_RETURN(
        auto buf, s->device_->buffer_type().allocate(row * static_cast<size_t>(s->n_ctx_)));
    state.push_back({buf->data(), buf->size()});
    s->kv_bytes_ += buf->size();
    s->kv_.push_back(std::move(buf));
  }
  AUTOGLM_ASSIGN_OR_RETURN(s->graph_, model.build_graph(s->n_ctx_, opts.kv_dtype));
  s->executor_ = std::make_unique<sched::Executor>(s->graph_.graph, *s->device_, std::move(state));
  return s;
}

Result<std::span<const float>> Session::decode(std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) return error(ErrorCode::InvalidArgument, "nothing to decode: no tokens");
  if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx_) {
    return error(ErrorCode::OutOfRange,
                 "the prompt and output need " + std::to_string(n_past_ + tokens.size()) +
                     " tokens but the context holds " + std::to_string(n_ctx_) +
                     "; shorten the prompt or raise --ctx");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab()) {
      return error(ErrorCode::InvalidArgument,
                   "token id " + std::to_string(t) + " is outside the vocabulary");
    }
  }
  logits_.clear();
  std::span<const float> out;
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(n_batch_)) {
    const size_t n = std::min(tokens.size() - start, static_cast<size_t>(n_batch_));
    AUTOGLM_ASSIGN_OR_RETURN(out, run_chunk(tokens.subspan(start, n), all_logits));
    if (all_logits) logits_.insert(logits_.end(), out.begin(), out.end());
  }
  // The last row stays in the plan's memory: a decode step copies no logits.
  return all_logits ? std::span<const float>(logits_) : out;
}

Result<std::span<const float>> Session::run_chunk(std::span<const int32_t> tokens,
                                                  bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  positions_.resize(tokens.size());
  for (int64_t i = 0; i < n; ++i) positions_[i] = static_cast<int32_t>(n_past_ + i);
  if (all_logits) {
    out_ids_.resize(tokens.size());
    for (int64_t i = 0; i < n; ++i) out_ids_[i] = static_cast<int32_t>(i);
  } else {
    out_ids_.assign(1, static_cast<int32_t>(n - 1));
  }
  graph::Bindings b(graph_.graph.symbols().size());
  b[graph_.n_tokens] = n;
  b[graph_.n_outputs] = static_cast<int64_t>(out_ids_.size());
  auto bytes = [](const std::vector<int32_t>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()),
                                    v.size() * sizeof(int32_t));
  };
  const sched::Executor::Input inputs[] = {
      {graph_.tokens, {reinterpret_cast<const uint8_t*>(tokens.data()), tokens.size_bytes()}},
      {graph_.positions, bytes(positions_)},
      {graph_.out_ids, bytes(out_ids_)},
  };
  hal::RunArgs args;
  args.n_past = n_past_;
  AUTOGLM_ASSIGN_OR_RETURN(const sched::Plan* plan, executor_->run(b, inputs, args));
  const hal::TensorRef& out = plan->tensors[graph_.logits];  // [n_out, n_vocab]
  n_past_ += n;
  return std::span<const float>(static_cast<const float*>(out.data),
                                static_cast<size_t>(out.desc.elements()));
}

}  // namespace autoglm::runtime
