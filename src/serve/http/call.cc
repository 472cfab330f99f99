#include "serve/http/call.h"

namespace autoglm::serve::http {

Call::Call(ServerContext& ctx, const httplib::Request& req)
    : ctx_(ctx),
      id_(ctx.next_request_id()),
      method_(req.method),
      path_(req.path),
      start_(std::chrono::steady_clock::now()),
      watch_(std::make_unique<PeerWatch>(req.local_addr, req.local_port, req.remote_addr,
                                         req.remote_port)) {
  ctx_.in_flight.fetch_add(1);
}

Call::~Call() {
  finish(http_status_for(ErrorCode::Cancelled), nullptr, "client disconnected");
  ctx_.in_flight.fetch_sub(1);
}

void Call::set_model(const ServedModel& m) {
  model_ = m.name;
  version_ = m.version;
}

bool Call::client_gone() const {
  return ctx_.abort_calls || watch_->closed();
}

bool Call::aborted() const {
  return ctx_.abort_calls;
}

ApiError Call::gone_error() const {
  return aborted() ? api_error(error(ErrorCode::Unavailable,
                                     "the server stopped before the request finished; retry"))
                   : api_error(error(ErrorCode::Cancelled, "client disconnected"));
}

void Call::finish(int http_status, const Completion* c, const std::string& error) {
  if (finished_) return;
  finished_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  ctx_.metrics.count_request(model_, version_, http_status, seconds);
  nlohmann::ordered_json line = {
      {"event", "request"},    {"id", id_},
      {"method", method_},     {"path", path_},
      {"model", model_},       {"version", version_},
      {"status", http_status}, {"total_ms", std::round(seconds * 1e4) / 10}};
  if (c) {
    line["finish"] = finish_reason_name(c->finish);
    line["prompt_tokens"] = c->prompt_tokens;
    line["cached_tokens"] = c->cached_prompt_tokens;
    line["completion_tokens"] = c->completion_tokens;
    line["queue_ms"] = std::round(c->queue_ms * 10) / 10;
    line["ttft_ms"] = std::round(c->ttft_ms * 10) / 10;
  }
  if (!error.empty()) line["error"] = error;
  ctx_.log(line);
}

Started start_generation(Call& call, const ServedModel& m, const GenerationInput& in,
                         const Limits& limits) {
  Started s;
  auto req = make_engine_request(m, in, limits);
  if (!req.ok()) {
    s.error = api_error(req.status());
    return s;
  }
  auto handle = m.engine->submit(std::move(*req));
  if (!handle.ok()) {
    s.error = api_error(handle.status());
    return s;
  }
  s.handle = std::move(*handle);
  std::optional<Event> first = wait_event(*s.handle, [&] { return call.client_gone(); });
  if (!first) {
    s.client_gone = true;
    return s;
  }
  if (first->finish != FinishReason::None) {
    Completion c;
    c.add(*first);
    if (Status st = finish_status(c); !st.ok()) s.error = api_error(st);
  }
  s.first = std::move(*first);
  return s;
}

Generated collect_generation(Call& call, Started s) {
  Generated g;
  if (s.error) {
    g.error = std::move(s.error);
    return g;
  }
  if (s.client_gone) {
    g.error = call.gone_error();
    return g;
  }
  Completion& c = g.completion;
  c.add(s.first);
  while (!c.done()) {
    std::optional<Event> ev = wait_event(*s.handle, [&] { return call.client_gone(); });
    if (!ev) {
      g.error = call.gone_error();
      return g;
    }
    c.add(*ev);
  }
  if (Status st = finish_status(c); !st.ok()) g.error = api_error(st);
  return g;
}

Generated complete_generation(Call& call, const ServedModel& m, const GenerationInput& in,
                              const Limits& limits) {
  return collect_generation(call, start_generation(call, m, in, limits));
}

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void reply_error(httplib::Response& res, Protocol p, const ApiError& e) {
  res.status = e.http_status;
  if (e.http_status == 429) res.set_header("Retry-After", "1");
  res.set_content(error_body(p, e), error_content_type(p));
}

void fail_call(Call& call, httplib::Response& res, Protocol p, const ApiError& e) {
  reply_error(res, p, e);
  call.finish(e.http_status, nullptr, e.message);
}

}  // namespace autoglm::serve::http
