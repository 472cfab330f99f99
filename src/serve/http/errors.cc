#include "serve/http/errors.h"

#include <nlohmann/json.hpp>

namespace autoglm::serve::http {

Protocol protocol_for_path(const std::string& path) {
  if (path.starts_with("/v1/")) return Protocol::OpenAI;
  if (path == "/v2" || path.starts_with("/v2/")) return Protocol::KServe;
  if (path == "/infer") return Protocol::Envelope;
  return Protocol::Plain;
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok:
      return 200;
    case ErrorCode::InvalidArgument:
    case ErrorCode::OutOfRange:
    case ErrorCode::Unsupported:
      return 400;
    case ErrorCode::Unauthenticated:
      return 401;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::QueueFull:
      return 429;
    case ErrorCode::Cancelled:
      return 499;  // nginx's "client closed request": nobody is left to read it
    case ErrorCode::Unavailable:
    case ErrorCode::ResourceExhausted:
      return 503;
    case ErrorCode::QueueTimeout:
    case ErrorCode::DeadlineExceeded:
      return 504;
    case ErrorCode::IoError:
    case ErrorCode::CorruptFile:
    case ErrorCode::Internal:
      return 500;
  }
  return 500;
}

ApiError api_error(const Status& st, std::string param) {
  return {http_status_for(st.code()), st.code(), st.message(), std::move(param)};
}

ApiError payload_too_large(size_t limit) {
  return {413, ErrorCode::InvalidArgument,
          "the request body is larger than the server's limit of " + std::to_string(limit) +
              " bytes (--max-body-bytes); send a shorter prompt",
          ""};
}

namespace {

// OpenAI's error "type" vocabulary.
const char* openai_type(int http_status) {
  switch (http_status) {
    case 400:
    case 404:
    case 413:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    case 504:
      return "timeout_error";
    default:
      return "server_error";
  }
}

}  // namespace

std::string error_body(Protocol p, const ApiError& e) {
  using nlohmann::json;
  switch (p) {
    case Protocol::OpenAI: {
      json err = {{"message", e.message},
                  {"type", openai_type(e.http_status)},
                  {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                  {"code", e.http_status == 413 ? "payload_too_large" : error_code_name(e.code)}};
      return json{{"error", err}}.dump();
    }
    case Protocol::KServe:
      return json{{"error", e.message}}.dump();
    case Protocol::Envelope:
      return json{{"status_code", e.http_status}, {"message", e.message}, {"result", nullptr}}
          .dump();
    case Protocol::Plain:
      break;
  }
  return e.message + "\n";
}

const char* error_content_type(Protocol p) {
  return p == Protocol::Plain ? "text/plain; charset=utf-8" : "application/json";
}

}  // namespace autoglm::serve::http
