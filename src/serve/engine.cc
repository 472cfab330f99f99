#include "serve/engine.h"

#include "serve/engine_core.h"

namespace autoglm::serve {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::None:
      return "none";
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Cancelled:
      return "cancelled";
    case FinishReason::Timeout:
      return "timeout";
    case FinishReason::Error:
      return "error";
  }
  return "unknown";
}

RequestHandle::RequestHandle(Engine* e, uint64_t id, std::shared_ptr<std::atomic<int64_t>> live)
    : engine_(e), id_(id), live_(std::move(live)) {
  ++*live_;
}

RequestHandle::~RequestHandle() {
  bool done;
  {
    std::lock_guard lk(mu_);
    done = done_;
  }
  // A finished request needs nothing; the engine (which outlives unfinished handles, as it
  // finishes every request before it goes) stops an unfinished one.
  if (!done) engine_->cancel(id_);
  --*live_;
}

std::optional<Event> RequestHandle::next(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  if (drained_) return std::nullopt;
  if (!cv_.wait_for(lk, timeout, [&] { return !events_.empty(); })) return std::nullopt;
  Event ev = std::move(events_.front());
  events_.pop_front();
  if (ev.finish != FinishReason::None) drained_ = true;
  return ev;
}

void RequestHandle::cancel() {
  if (!finished()) engine_->cancel(id_);
}

bool RequestHandle::finished() const {
  std::lock_guard lk(mu_);
  return done_;
}

void RequestHandle::push(Event ev) {
  {
    std::lock_guard lk(mu_);
    if (done_) return;
    if (ev.finish != FinishReason::None) done_ = true;
    events_.push_back(std::move(ev));
  }
  cv_.notify_all();
}

Engine::Engine() = default;
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::create(const model::Model& model,
                                               const tokenizer::Tokenizer& tok,
                                               const EngineOptions& opts) {
  std::unique_ptr<Engine> e(new Engine());
  AUTOGLM_ASSIGN_OR_RETURN(e->core_, EngineCore::create(e.get(), model, tok, opts));
  return e;
}

Result<std::shared_ptr<RequestHandle>> Engine::submit(Request req) {
  return core_->submit(std::move(req));
}
void Engine::cancel(uint64_t id) {
  core_->cancel(id);
}
EngineStats Engine::stats() const {
  return core_->stats();
}
LatencySamples Engine::take_samples() {
  return core_->take_samples();
}
const EngineOptions& Engine::options() const {
  return core_->options();
}
const model::Model& Engine::model() const {
  return core_->model();
}
Engine::Placement Engine::placement() const {
  const runtime::BatchRunner& r = core_->runner();
  Placement p;
  for (const auto& d : r.devices()) p.devices.push_back(d->props().name);
  p.splits = r.placement().splits.size();
  p.fallbacks = r.placement().fallbacks.size();
  return p;
}
const tokenizer::Tokenizer& Engine::tokenizer() const {
  return core_->tokenizer();
}
void Engine::stop_admission() {
  core_->stop_admission();
}
bool Engine::wait_idle(std::chrono::milliseconds timeout) {
  return core_->wait_idle(timeout);
}

}  // namespace autoglm::serve
