// The unified envelope: POST /infer {"model_name","version","data":{...}} answered with
// {"status_code","message","result"}; the HTTP status always equals status_code.
//
// Status codes (the same table as every other adapter, see errors.h):
//   200 ok · 400 malformed JSON, wrong type or missing field (named), limit exceeded (named)
//   401 missing or wrong API key · 404 unknown model or version · 413 body too large
//   429 queue full (Retry-After) · 503 loading or draining · 504 queue timeout · 500 bug
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "serve/http/generation.h"
#include "serve/http/server_context.h"

namespace autoglm::serve::http::envelope {

struct EnvelopeRequest {
  std::string model_name;
  std::string version;  // empty: latest
  GenerationInput input;
};

// data holds "prompt" (text) or "messages" (chat), plus the shared generation fields.
Status parse_request(const nlohmann::json& body, EnvelopeRequest& out, std::string& param);

nlohmann::json success_body(const ServedModel& m, const Completion& c);

void register_routes(httplib::Server& server, ServerContext& ctx);

}  // namespace autoglm::serve::http::envelope
