// The one table from autoglm::ErrorCode to HTTP status, and the error bodies of each protocol.
// Every adapter (OpenAI, KServe v2, envelope) answers the same status for the same failure.
#pragma once

#include <string>

#include "core/status.h"

namespace autoglm::serve::http {

enum class Protocol { OpenAI, KServe, Envelope, Plain };

// The protocol whose error shape a path answers in ("/v1/..." -> OpenAI, ...).
Protocol protocol_for_path(const std::string& path);

struct ApiError {
  int http_status = 500;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::string param;  // the offending request field, when there is one
};

// 400 invalid_argument/out_of_range/unsupported, 401 unauthenticated, 404 not_found,
// 429 queue_full, 499 cancelled, 503 unavailable/resource_exhausted,
// 504 queue_timeout/deadline_exceeded, 500 the rest.
int http_status_for(ErrorCode code);

ApiError api_error(const Status& st, std::string param = {});
// 413: the body is larger than --max-body-bytes.
ApiError payload_too_large(size_t limit);

// {"error":{"message","type","param","code"}} / {"error":"msg"} /
// {"status_code","message","result":null} / plain text.
std::string error_body(Protocol p, const ApiError& e);
const char* error_content_type(Protocol p);

}  // namespace autoglm::serve::http
