#include "serve/http/server.h"

#include <thread>

#include "serve/http/call.h"
#include "serve/http/envelope.h"
#include "serve/http/errors.h"
#include "serve/http/kserve.h"
#include "serve/http/openai.h"

namespace autoglm::serve::http {

HttpServer::HttpServer(ServerContext& ctx) : ctx_(ctx) {
  const int threads = ctx.config.http_threads;
  svr_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr_.set_payload_max_length(ctx.config.max_body_bytes);
  install_routes();
}

bool HttpServer::is_open_path(const std::string& path) {
  return path == "/health" || path == "/ready" || path == "/metrics" || path == "/v2/health/live" ||
         path == "/v2/health/ready";
}

void HttpServer::install_routes() {
  svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (is_open_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    const Protocol p = protocol_for_path(req.path);
    // Checked before the body is read, so an unauthenticated client cannot make us read it.
    if (!ctx_.config.api_keys.allows(req.get_header_value("Authorization"))) {
      ctx_.metrics.count_request("", "", 401, 0);
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, p,
                  api_error(error(ErrorCode::Unauthenticated,
                                  "missing or invalid API key; send the header "
                                  "'Authorization: Bearer <key>'")));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (ctx_.draining) {
      ctx_.metrics.count_request("", "", 503, 0);
      reply_error(res, p,
                  api_error(error(ErrorCode::Unavailable,
                                  "the server is shutting down; retry on another instance")));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib answers itself (413 body too large, 404 no route, 400 bad request line)
  // get the same body shape as the adapters' own errors.
  svr_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                     httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const Protocol p = protocol_for_path(req.path);
    ApiError e;
    if (res.status == 413) {
      e = payload_too_large(ctx_.config.max_body_bytes);
    } else if (res.status == 404) {
      e = {404, ErrorCode::NotFound,
           "no route for " + req.method + " " + req.path + "; see /v1/models, /v2 or POST /infer",
           ""};
    } else if (res.status >= 500) {
      e = {res.status, ErrorCode::Internal, "internal server error", ""};
    } else {
      // Health and readiness answer with a bare status on purpose.
      if (is_open_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
      e = {res.status, ErrorCode::InvalidArgument, "malformed HTTP request", ""};
    }
    reply_error(res, p, e);
    return httplib::Server::HandlerResponse::Handled;
  }));
  svr_.set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, protocol_for_path(req.path),
                {500, ErrorCode::Internal, "internal error: " + what + "; please report it", ""});
  });

  svr_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200,
               {{"status", "alive"}, {"ready", ctx_.ready()}, {"draining", ctx_.draining.load()}});
  });
  svr_.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = ctx_.ready();
    reply_json(res, ready ? 200 : 503,
               {{"ready", ready},
                {"reason", ready           ? "serving"
                           : ctx_.draining ? "draining"
                                           : "loading models"}});
  });
  svr_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::vector<EngineSnapshot> snaps;
    for (const auto& m : ctx_.registry.loaded()) {
      snaps.push_back({m->name, m->version, m->engine->stats(), m->engine->take_samples()});
    }
    res.set_content(ctx_.metrics.render(snaps, ctx_.registry.all_loaded(), ctx_.draining),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  openai::register_routes(svr_, ctx_);
  kserve::register_routes(svr_, ctx_);
  envelope::register_routes(svr_, ctx_);
}

Result<int> HttpServer::bind(const std::string& host, int port) {
  const int bound =
      port == 0 ? svr_.bind_to_any_port(host) : (svr_.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return error(ErrorCode::Unavailable, "cannot listen on " + host + ":" + std::to_string(port) +
                                             "; is another server using that port? Pick "
                                             "another with --port (0 picks a free one)");
  }
  return bound;
}

bool HttpServer::listen() {
  return svr_.listen_after_bind();
}

void HttpServer::begin_drain() {
  ctx_.draining = true;
  for (const auto& m : ctx_.registry.loaded()) m->engine->stop_admission();
}

bool HttpServer::wait_drained(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ctx_.in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void HttpServer::stop() {
  ctx_.abort_calls = true;
  svr_.stop();
}

}  // namespace autoglm::serve::http
