#include "serve/engine_core.h"

#include <algorithm>
#include <string>

#include "serve/logprobs.h"

namespace autoglm::serve {
namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr int32_t kMaxTopLogprobs = 20;

// The tokens o.kv_memory holds in whole blocks of o.kv_dtype rows; at least one full context.
Result<int64_t> kv_tokens_in(const model::HParams& hp, const EngineOptions& o) {
  const size_t per_token = runtime::BatchRunner::kv_bytes_per_token(hp, o.kv_dtype);
  const auto tokens = static_cast<int64_t>(o.kv_memory / per_token) / o.block_size * o.block_size;
  if (tokens < o.n_ctx) {
    const size_t need_mib = (static_cast<size_t>(o.n_ctx) * per_token + (1 << 20) - 1) >> 20;
    return error(ErrorCode::InvalidArgument,
                 "kv_memory holds " + std::to_string(tokens) + " tokens of " +
                     std::string(dtype_name(o.kv_dtype)) + " KV (" + std::to_string(per_token) +
                     " bytes each) but one full context of n_ctx " + std::to_string(o.n_ctx) +
                     " needs " + std::to_string(need_mib) +
                     " MiB: raise kv_memory, lower n_ctx, or use kv_dtype q8_0");
  }
  return tokens;
}

}  // namespace

EngineCore::EngineCore(Engine* owner, const model::Model& m, const tokenizer::Tokenizer& t,
                       const EngineOptions& o)
    : owner_(owner),
      model_(m),
      tok_(t),
      opts_(o),
      n_vocab_(m.hparams().n_vocab),
      adaptive_(o.max_step_tokens, o.max_batch, o.target_itl) {}

Result<std::unique_ptr<EngineCore>> EngineCore::create(Engine* owner, const model::Model& model,
                                                       const tokenizer::Tokenizer& tok,
                                                       const EngineOptions& in) {
  EngineOptions o = in;
  if (o.block_size <= 0 || o.max_batch <= 0 || o.max_step_tokens <= 0 || o.max_queue == 0 ||
      o.n_ctx < 0 || o.kv_tokens < 0 || o.prefix_ttl.count() < 0 || o.target_itl.count() < 0) {
    return error(ErrorCode::InvalidArgument,
                 "engine options: block_size, max_batch, max_step_tokens and max_queue must be "
                 "positive; n_ctx, kv_tokens, prefix_ttl and target_itl must not be negative");
  }
  if (tok.n_vocab() != model.hparams().n_vocab) {
    return error(ErrorCode::InvalidArgument,
                 "the tokenizer has " + std::to_string(tok.n_vocab()) + " tokens but the model " +
                     std::to_string(model.hparams().n_vocab) + ": use the model's own tokenizer");
  }
  if (o.n_ctx == 0) o.n_ctx = std::min<int64_t>(model.hparams().n_ctx_train, 4096);
  if (o.kv_memory > 0) {
    if (o.kv_tokens > 0) {
      return error(ErrorCode::InvalidArgument,
                   "engine options: set kv_tokens or kv_memory, not both");
    }
    AUTOGLM_ASSIGN_OR_RETURN(o.kv_tokens, kv_tokens_in(model.hparams(), o));
  }
  if (o.kv_tokens == 0) o.kv_tokens = 4 * o.n_ctx;
  if (o.kv_tokens < o.n_ctx) {
    return error(ErrorCode::InvalidArgument, "kv_tokens (" + std::to_string(o.kv_tokens) +
                                                 ") must hold at least one full "
                                                 "context of n_ctx (" +
                                                 std::to_string(o.n_ctx) +
                                                 ") tokens: raise kv_tokens or "
                                                 "lower n_ctx");
  }
  runtime::RunnerOptions ro;
  ro.block_size = o.block_size;
  ro.n_blocks = (o.kv_tokens + o.block_size - 1) / o.block_size;
  ro.max_blocks_per_seq = (o.n_ctx + o.block_size - 1) / o.block_size;
  ro.kv_dtype = o.kv_dtype;
  ro.threads = o.threads;
  ro.backend = o.backend;
  ro.fallback = o.fallback;
  ro.alignment = o.alignment;
  ro.int8_block_sums = o.int8_block_sums;
  std::unique_ptr<EngineCore> c(new EngineCore(owner, model, tok, o));
  AUTOGLM_ASSIGN_OR_RETURN(c->runner_, runtime::BatchRunner::create(model, ro));
  // One decode step before serving builds the decode plan and lets backends prepare their
  // weights (the CPU repacks them), so the first request waits for neither. Block 0 is free:
  // whoever takes it writes its rows before reading them.
  const int32_t warm_token = 0, warm_block = 0;
  const runtime::SeqChunk warm{{&warm_token, 1}, 0, {&warm_block, 1}, 1};
  AUTOGLM_RETURN_IF_ERROR(c->runner_->step({&warm, 1}).status());
  c->runner_->set_kernel_timing(o.kernel_timing);
  if (o.prefix_cache) {
    c->prefix_ = std::make_unique<PrefixCache>(o.block_size, ro.n_blocks, o.prefix_ttl);
  }
  c->blocks_ = std::make_unique<BlockManager>(ro.n_blocks, o.block_size, c->prefix_.get());
  c->stats_.kv_blocks_total = c->stats_.kv_blocks_free = ro.n_blocks;
  c->stats_.step_token_budget = c->adaptive_.step_tokens();
  c->stats_.max_batch = c->adaptive_.max_batch();
  c->thread_ = std::thread([p = c.get()] { p->run(); });
  return c;
}

EngineCore::~EngineCore() {
  {
    std::lock_guard lk(mu_);
    shutdown_ = true;
    admitting_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status EngineCore::validate(const Request& r) const {
  if (r.prompt.empty()) {
    return error(ErrorCode::InvalidArgument, "the prompt is empty: send at least one token");
  }
  for (int32_t t : r.prompt) {
    if (t < 0 || t >= n_vocab_) {
      return error(ErrorCode::InvalidArgument, "prompt token id " + std::to_string(t) +
                                                   " is outside the vocabulary [0, " +
                                                   std::to_string(n_vocab_) + ")");
    }
  }
  AUTOGLM_RETURN_IF_ERROR(r.sampling.validate());
  if (r.max_tokens < 1) {
    return error(ErrorCode::InvalidArgument, "max_tokens must be at least 1");
  }
  if (r.top_logprobs < -1 || r.top_logprobs > kMaxTopLogprobs) {
    return error(ErrorCode::InvalidArgument,
                 "top_logprobs must be -1 (off) or 0.." + std::to_string(kMaxTopLogprobs));
  }
  if (r.queue_timeout.count() < 0 || r.total_timeout.count() < 0) {
    return error(ErrorCode::InvalidArgument, "timeouts must not be negative (0: none)");
  }
  const auto total = static_cast<int64_t>(r.prompt.size()) + r.max_tokens;
  if (total > opts_.n_ctx) {
    return error(ErrorCode::OutOfRange,
                 "prompt (" + std::to_string(r.prompt.size()) + " tokens) + max_tokens (" +
                     std::to_string(r.max_tokens) + ") exceeds the context of " +
                     std::to_string(opts_.n_ctx) +
                     " tokens: shorten the prompt or lower "
                     "max_tokens");
  }
  return {};
}

Result<std::shared_ptr<RequestHandle>> EngineCore::submit(Request req) {
  AUTOGLM_RETURN_IF_ERROR(validate(req));
  std::unique_lock lk(mu_);
  if (!admitting_) {
    return error(ErrorCode::Unavailable, "the engine is shutting down: retry on another server");
  }
  if (waiting_.size() >= opts_.max_queue) {
    ++stats_.requests_rejected;
    return error(ErrorCode::QueueFull, "the waiting queue is full (" +
                                           std::to_string(opts_.max_queue) +
                                           " requests): retry later");
  }
  const uint64_t id = next_id_++;
  const int64_t priority = req.priority;
  auto seq = std::make_unique<Sequence>(id, id, std::move(req), tok_);
  std::shared_ptr<RequestHandle> h(new RequestHandle(owner_, id, live_handles_));
  seq->handle = h;
  waiting_.emplace(WaitKey{-priority, id}, std::move(seq));
  lk.unlock();
  cv_.notify_one();
  return h;
}

void EngineCore::cancel(uint64_t id) {
  {
    std::lock_guard lk(mu_);
    cancels_.push_back(id);
  }
  cv_.notify_one();
}

EngineStats EngineCore::stats() const {
  std::lock_guard lk(mu_);
  EngineStats s = stats_;
  s.waiting = static_cast<int64_t>(waiting_.size());
  s.open_handles = live_handles_->load();
  return s;
}

LatencySamples EngineCore::take_samples() {
  std::lock_guard lk(mu_);
  return std::exchange(samples_, {});
}

void EngineCore::stop_admission() {
  std::lock_guard lk(mu_);
  admitting_ = false;
}

bool EngineCore::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, timeout, [&] { return running_count_ == 0 && waiting_.empty(); });
}

void EngineCore::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] {
      return shutdown_ || !waiting_.empty() || !cancels_.empty() || !running_.empty();
    });
    if (shutdown_) break;
    std::vector<uint64_t> cancels = std::exchange(cancels_, {});
    lk.unlock();
    iteration(std::move(cancels));
    lk.lock();
  }
  // Shutdown: nothing left may hang a client.
  std::vector<SeqPtr> left = std::move(running_);
  for (auto& [key, s] : waiting_) left.push_back(std::move(s));
  waiting_.clear();
  running_count_ = 0;
  lk.unlock();
  for (auto& s : left) {
    finish(*s, FinishReason::Cancelled,
           error(ErrorCode::Unavailable, "the engine shut down before the request finished"), {});
  }
  idle_cv_.notify_all();
}

void EngineCore::iteration(std::vector<uint64_t> cancels) {
  const auto now = Clock::now();
  // A handle nobody holds any more cancels its request.
  for (auto& s : running_) {
    if (s->handle.expired()) cancels.push_back(s->id);
  }
  apply_cancels(cancels);
  expire_deadlines(now);
  blocks_->expire(now);
  admit(now);
  plan_step();
  run_step();
  publish_stats();
}

void EngineCore::apply_cancels(const std::vector<uint64_t>& ids) {
  if (ids.empty()) return;
  std::vector<SeqPtr> dropped;
  {
    std::lock_guard lk(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (std::find(ids.begin(), ids.end(), it->second->id) == ids.end()) {
        ++it;
        continue;
      }
      dropped.push_back(std::move(it->second));
      it = waiting_.erase(it);
    }
  }
  for (auto& s : dropped) {
    finish(*s, FinishReason::Cancelled, error(ErrorCode::Cancelled, "cancelled"), {});
  }
  for (auto& s : running_) {
    if (!s->done && std::find(ids.begin(), ids.end(), s->id) != ids.end()) {
      finish(*s, FinishReason::Cancelled, error(ErrorCode::Cancelled, "cancelled"), {});
    }
  }
  sweep_running();
}

void EngineCore::expire_deadlines(Clock::time_point now) {
  auto expired = [&](const Sequence& s) -> Status {
    const auto waited = now - s.submitted;
    if (!s.started && s.req.queue_timeout.count() > 0 && waited >= s.req.queue_timeout) {
      return error(ErrorCode::QueueTimeout,
                   "waited " + std::to_string(s.req.queue_timeout.count()) +
                       " ms in the queue without starting: the server is overloaded, retry later");
    }
    if (s.req.total_timeout.count() > 0 && waited >= s.req.total_timeout) {
      return error(ErrorCode::DeadlineExceeded, "the request ran past its total timeout of " +
                                                    std::to_string(s.req.total_timeout.count()) +
                                                    " ms");
    }
    return {};
  };
  std::vector<std::pair<SeqPtr, Status>> dropped;
  {
    std::lock_guard lk(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      Status st = expired(*it->second);
      if (st.ok()) {
        ++it;
        continue;
      }
      dropped.emplace_back(std::move(it->second), std::move(st));
      it = waiting_.erase(it);
    }
  }
  for (auto& [s, st] : dropped) finish(*s, FinishReason::Timeout, std::move(st), {});
  for (auto& s : running_) {
    if (s->done) continue;
    if (Status st = expired(*s); !st.ok()) finish(*s, FinishReason::Timeout, std::move(st), {});
  }
  sweep_running();
}

void EngineCore::admit(Clock::time_point now) {
  std::lock_guard lk(mu_);
  while (!waiting_.empty() && static_cast<int64_t>(running_.size()) < adaptive_.max_batch()) {
    auto it = waiting_.begin();
    Sequence& s = *it->second;
    // Everything to (re)compute gets its blocks now, plus one block of growth headroom per
    // running sequence so admission does not immediately force a preemption. The estimate
    // ignores prefix hits, so it only errs on the safe side.
    const int64_t need = blocks_->blocks_for(static_cast<int64_t>(s.tokens.size()));
    if (blocks_->available() < need + static_cast<int64_t>(running_.size())) break;
    s.n_computed = opts_.prefix_cache ? blocks_->reuse_prefix(s.table, s.tokens) : 0;
    blocks_->grow(s.table, static_cast<int64_t>(s.tokens.size()));
    if (!s.started) {
      s.started = true;
      s.admitted = now;
      s.cached_prompt_tokens = s.n_computed;
      samples_.queue_ms.push_back(ms_between(s.submitted, now));
      stats_.prompt_tokens += s.n_prompt;
    }
    SeqPtr p = std::move(it->second);
    waiting_.erase(it);
    auto pos = std::upper_bound(running_.begin(), running_.end(), p,
                                [](const SeqPtr& a, const SeqPtr& b) { return a->before(*b); });
    running_.insert(pos, std::move(p));
  }
  running_count_ = static_cast<int64_t>(running_.size());
}

bool EngineCore::reserve(Sequence& s, int64_t n_tokens) {
  while (!blocks_->grow(s.table, n_tokens)) {
    // The lowest-ranked running sequence goes first: lowest priority, latest arrival.
    Sequence& victim = *running_.back();
    preempt(victim);
    if (&victim == &s) return false;
  }
  return true;
}

void EngineCore::preempt(Sequence& victim) {
  blocks_->release(victim.table);
  victim.n_computed = 0;
  auto it = std::find_if(running_.begin(), running_.end(),
                         [&](const SeqPtr& p) { return p.get() == &victim; });
  SeqPtr p = std::move(*it);
  running_.erase(it);
  std::lock_guard lk(mu_);
  ++stats_.preemptions;
  // Requeued at its original rank and outside the queue bound: an admitted request is never lost.
  waiting_.emplace(WaitKey{-static_cast<int64_t>(p->req.priority), p->arrival}, std::move(p));
}

void EngineCore::plan_step() {
  plan_.clear();
  int64_t budget = adaptive_.step_tokens();
  // Decode tokens first: they keep every running stream moving; prefill chunks share the rest.
  std::vector<Sequence*> order;
  for (auto& s : running_) order.push_back(s.get());
  for (Sequence* s : order) {
    if (budget == 0) break;
    const bool still_running = std::any_of(running_.begin(), running_.end(),
                                           [&](const SeqPtr& p) { return p.get() == s; });
    if (!still_running || s->remaining() != 1) continue;
    if (!reserve(*s, s->n_computed + 1)) continue;
    plan_.push_back({s, 1});
    --budget;
  }
  for (auto& s : running_) {
    if (budget == 0) break;
    if (s->remaining() <= 1) continue;
    // Admission reserved blocks for everything to recompute, so a prefill chunk never grows.
    int64_t n = std::min(s->remaining(), budget);
    // A sequence's lone token in a step takes the one-row attention order (llama.cpp's decode
    // numerics), so a chunk leaves two prompt tokens rather than one where it can: how the budget
    // happened to split a prompt then does not change its rounding.
    if (s->remaining() - n == 1 && n > 2) --n;
    plan_.push_back({s.get(), n});
    budget -= n;
  }
}

void EngineCore::run_step() {
  if (plan_.empty()) return;
  chunks_.clear();
  int64_t n_tokens = 0;
  for (const Planned& p : plan_) {
    Sequence& s = *p.seq;
    runtime::SeqChunk c;
    c.tokens = std::span<const int32_t>(s.tokens).subspan(static_cast<size_t>(s.n_computed),
                                                          static_cast<size_t>(p.n_tokens));
    c.pos = s.n_computed;
    c.blocks = s.table.blocks;
    c.n_logits = s.n_computed + p.n_tokens == static_cast<int64_t>(s.tokens.size()) ? 1 : 0;
    chunks_.push_back(c);
    n_tokens += p.n_tokens;
  }
  const auto t0 = Clock::now();
  auto logits = runner_->step(chunks_);
  const double step_ms = ms_between(t0, Clock::now());
  if (!logits.ok()) {
    for (const Planned& p : plan_) finish(*p.seq, FinishReason::Error, logits.status(), {});
    sweep_running();
    record_step(step_ms, n_tokens);
    return;
  }
  size_t row = 0;
  for (size_t i = 0; i < plan_.size(); ++i) {
    Sequence& s = *plan_[i].seq;
    s.n_computed += plan_[i].n_tokens;
    blocks_->publish(s.table, s.tokens, s.n_computed);
    if (chunks_[i].n_logits == 0) continue;
    produce_token(
        s, logits->subspan(row++ * static_cast<size_t>(n_vocab_), static_cast<size_t>(n_vocab_)));
  }
  adaptive_.observe(step_ms, n_tokens, static_cast<int64_t>(plan_.size()));
  sweep_running();
  record_step(step_ms, n_tokens);
}

void EngineCore::produce_token(Sequence& s, std::span<const float> logits) {
  Event ev;
  const int32_t tok = s.sampler.sample(logits, s.tokens);
  const auto now = Clock::now();
  const bool first = s.n_generated() == 0;
  s.tokens.push_back(tok);
  {
    std::lock_guard lk(mu_);
    ++stats_.generated_tokens;
    if (first) {
      samples_.ttft_ms.push_back(ms_between(s.submitted, now));
    } else {
      samples_.itl_ms.push_back(ms_between(s.last_token, now));
    }
  }
  if (first) s.first_token = now;
  s.last_token = now;

  FinishReason why = FinishReason::None;
  if (!s.req.ignore_eos && tok_.is_eog(tok)) {
    why = FinishReason::Stop;  // the end-of-generation token itself is not output
  } else {
    ev.tokens.push_back(tok);
    if (s.req.top_logprobs >= 0) {
      const LogSoftmax ls(logits);
      ev.logprobs.push_back({tok, ls.of(tok)});
      ev.top_logprobs.push_back(ls.top(s.req.top_logprobs));
    }
    StopMatcher::Output o = s.stop.push(s.decoder.push(tok));
    ev.text = std::move(o.text);
    if (o.stopped) why = FinishReason::Stop;
  }
  if (why == FinishReason::None && s.n_generated() >= s.req.max_tokens) why = FinishReason::Length;
  if (why == FinishReason::None) {
    emit(s, std::move(ev));
    return;
  }
  if (!s.stop.stopped()) {
    // Ending without a stop string: release what the decoder and the matcher still hold.
    StopMatcher::Output o = s.stop.push(s.decoder.flush());
    ev.text += o.text;
    if (o.stopped) {
      why = FinishReason::Stop;
    } else {
      ev.text += s.stop.flush();
    }
  }
  finish(s, why, {}, std::move(ev));
}

void EngineCore::emit(Sequence& s, Event ev) {
  if (auto h = s.handle.lock()) h->push(std::move(ev));
}

void EngineCore::finish(Sequence& s, FinishReason why, Status st, Event ev) {
  const auto now = Clock::now();
  ev.finish = why;
  ev.status = std::move(st);
  ev.prompt_tokens = s.n_prompt;
  ev.cached_prompt_tokens = s.cached_prompt_tokens;
  ev.completion_tokens = s.n_generated();
  ev.queue_ms = ms_between(s.submitted, s.started ? s.admitted : now);
  ev.ttft_ms = s.n_generated() > 0 ? ms_between(s.submitted, s.first_token) : 0.0;
  ev.total_ms = ms_between(s.submitted, now);
  blocks_->release(s.table);
  s.done = true;
  {
    std::lock_guard lk(mu_);
    switch (why) {
      case FinishReason::Cancelled:
        ++stats_.requests_cancelled;
        break;
      case FinishReason::Timeout:
        ++stats_.requests_timed_out;
        break;
      default:
        ++stats_.requests_finished;
        break;
    }
    samples_.request_ms.push_back(ev.total_ms);
    // Whoever reads the final event sees this request's blocks released.
    publish_blocks();
  }
  emit(s, std::move(ev));
}

void EngineCore::sweep_running() {
  std::erase_if(running_, [](const SeqPtr& s) { return s->done; });
}

void EngineCore::record_step(double step_ms, int64_t step_tokens) {
  std::lock_guard lk(mu_);
  ++stats_.steps;
  stats_.last_step_ms = step_ms;
  stats_.last_step_tokens = static_cast<double>(step_tokens);
  stats_.step_token_budget = adaptive_.step_tokens();
  stats_.max_batch = adaptive_.max_batch();
  samples_.step_ms.push_back(step_ms);
  if (opts_.kernel_timing) stats_.kernel_seconds_by_op = runner_->kernel_seconds_by_op();
}

void EngineCore::publish_blocks() {
  const BlockStats b = blocks_->stats();
  stats_.kv_blocks_total = b.total;
  stats_.kv_blocks_used = b.used;
  stats_.kv_blocks_free = b.free;
  stats_.kv_blocks_cached = b.cached;
  if (prefix_ != nullptr) {
    stats_.prefix_queries_tokens = prefix_->queried_tokens();
    stats_.prefix_hits_tokens = prefix_->hit_tokens();
  }
}

void EngineCore::publish_stats() {
  {
    std::lock_guard lk(mu_);
    publish_blocks();
    running_count_ = static_cast<int64_t>(running_.size());
    stats_.running = running_count_;
  }
  if (running_.empty()) idle_cv_.notify_all();
}

}  // namespace autoglm::serve
