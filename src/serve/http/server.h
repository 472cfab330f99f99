// The HTTP server: routes of every protocol adapter plus health, readiness and metrics, with
// API keys, body limits and graceful drain in front of them.
//
// Open without an API key (probes and scrapers carry none): /health, /ready, /metrics,
// /v2/health/live, /v2/health/ready. Everything else needs "Authorization: Bearer <key>" when
// keys are configured.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>

#include "core/status.h"
#include "serve/http/server_context.h"

namespace autoglm::serve::http {

class HttpServer {
 public:
  explicit HttpServer(ServerContext& ctx);

  // Binds host:port; port 0 picks a free port. Returns the bound port.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(); blocks.
  bool listen();

  // Drain, step 1: readiness false, new calls 503, engines stop admitting.
  void begin_drain();
  // Drain, step 2: true once no call is in flight; false if the timeout passed first.
  bool wait_drained(std::chrono::milliseconds timeout);
  // Cancels calls still in flight and stops serving; listen() returns.
  void stop();

  static bool is_open_path(const std::string& path);

 private:
  void install_routes();
  ServerContext& ctx_;
  httplib::Server svr_;
};

}  // namespace autoglm::serve::http
