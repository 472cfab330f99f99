#include "runtime/session.h"

#include <algorithm>

namespace autoglm::runtime {

Result<std::unique_ptr<Session>> Session::create(const model::Model& model,
                                                 const SessionOptions& opts) {
  std::unique_ptr<Session> s(new Session());
  const model::HParams& hp = model.hparams();
  s->n_ctx_ = opts.n_ctx > 0 ? opts.n_ctx : std::min<int64_t>(hp.n_ctx_train, 4096);
  if (s->n_ctx_ > hp.n_ctx_train) {
    return error(ErrorCode::InvalidArgument, "context " + std::to_string(s->n_ctx_) +
                                                 " exceeds the model's training context of " +
                                                 std::to_string(hp.n_ctx_train) + " tokens");
  }
  if (opts.n_batch <= 0) return error(ErrorCode::InvalidArgument, "batch size must be positive");
  s->n_batch_ = opts.n_batch;
  RunnerOptions ro;
  ro.n_blocks = (s->n_ctx_ + ro.block_size - 1) / ro.block_size;
  ro.max_blocks_per_seq = ro.n_blocks;
  ro.kv_dtype = opts.kv_dtype;
  ro.threads = opts.threads;
  ro.backend = opts.backend;
  ro.fallback = opts.fallback;
  ro.alignment = opts.alignment;
  ro.int8_block_sums = opts.int8_block_sums;
  AUTOGLM_ASSIGN_OR_RETURN(s->runner_, BatchRunner::create(model, ro));
  s->blocks_.resize(static_cast<size_t>(ro.n_blocks));
  for (size_t i = 0; i < s->blocks_.size(); ++i) s->blocks_[i] = static_cast<int32_t>(i);
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
  // Checked up front so a bad id leaves the sequence as it was, whatever the chunking.
  AUTOGLM_RETURN_IF_ERROR(check_token_ids(tokens, n_vocab()));
  logits_.clear();
  std::span<const float> out;
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(n_batch_)) {
    const size_t n = std::min(tokens.size() - start, static_cast<size_t>(n_batch_));
    SeqChunk chunk;
    chunk.tokens = tokens.subspan(start, n);
    chunk.pos = n_past_;
    chunk.blocks = blocks_;
    chunk.n_logits = all_logits ? static_cast<int64_t>(n) : 1;
    AUTOGLM_ASSIGN_OR_RETURN(out, runner_->step(std::span<const SeqChunk>(&chunk, 1)));
    n_past_ += static_cast<int64_t>(n);
    if (all_logits) logits_.insert(logits_.end(), out.begin(), out.end());
  }
  // The last row stays in the plan's memory: a decode step copies no logits.
  return all_logits ? std::span<const float>(logits_) : out;
}

}  // namespace autoglm::runtime
