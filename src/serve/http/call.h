// One inference call from arrival to its last byte: counted in flight (for drain), then counted
// in /metrics and logged as one structured line when it ends.
#pragma once

#include <httplib.h>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serve/http/errors.h"
#include "serve/http/generation.h"
#include "serve/http/peer_watch.h"
#include "serve/http/server_context.h"

namespace autoglm::serve::http {

class Call {
 public:
  Call(ServerContext& ctx, const httplib::Request& req);
  ~Call();  // a call never finished (client gone mid-stream) is recorded as 499
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  const std::string& id() const { return id_; }
  void set_model(const ServedModel& m);
  // Records the outcome once; later calls are ignored.
  void finish(int http_status, const Completion* c = nullptr, const std::string& error = "");

  // Watches the client's connection while the handler waits (before any byte is written).
  // Also true once the server gives up on in-flight calls at the end of a drain.
  bool client_gone() const;
  bool aborted() const;
  // What to answer when the wait ended without a reply: 499 for a client that left (nobody
  // reads it), 503 when the server gave up at the end of a drain.
  ApiError gone_error() const;

 private:
  ServerContext& ctx_;
  std::string id_, method_, path_, model_, version_;
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<PeerWatch> watch_;
  bool finished_ = false;
};

// A generation that has produced its first event (or failed before it).
struct Started {
  std::optional<ApiError> error;  // set: reply with it
  bool client_gone = false;       // set: the client left before the first event
  std::shared_ptr<RequestHandle> handle;
  Event first;
};

// Builds the engine request, submits it and waits for the first event while watching the
// client. Waiting here, before any byte is written, lets queue timeouts and early failures
// answer with their own HTTP status even on streaming calls.
Started start_generation(Call& call, const ServedModel& m, const GenerationInput& in,
                         const Limits& limits);

// A non-streaming generation run to its end, or the error to reply with instead.
struct Generated {
  std::optional<ApiError> error;
  Completion completion;
};

// Waits for the rest of a started generation. The error is the start's own, the client having
// left (see Call::gone_error), or the engine's failure (timeout, error, cancel) mapped to HTTP.
Generated collect_generation(Call& call, Started s);

// The whole non-streaming call, the same for every protocol: start_generation, then
// collect_generation.
Generated complete_generation(Call& call, const ServedModel& m, const GenerationInput& in,
                              const Limits& limits);

// Replies with a JSON body.
void reply_json(httplib::Response& res, int status, const nlohmann::json& body);
// Replies with the protocol's error shape; 429 adds Retry-After.
void reply_error(httplib::Response& res, Protocol p, const ApiError& e);
// reply_error, then records the call as failed with e.
void fail_call(Call& call, httplib::Response& res, Protocol p, const ApiError& e);

}  // namespace autoglm::serve::http
