// KServe v2 / Open Inference Protocol REST adapter: server and model health, metadata and
// infer with a BYTES text input (or INT32 token ids), including the binary tensor extension
// that tritonclient uses by default.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "serve/http/generation.h"
#include "serve/http/server_context.h"

namespace autoglm::serve::http::kserve {

inline constexpr const char* kTextInput = "text_input";    // BYTES [1]
inline constexpr const char* kIdsInput = "input_ids";      // INT32 [n]
inline constexpr const char* kTextOutput = "text_output";  // BYTES [1]
inline constexpr const char* kIdsOutput = "output_ids";    // INT32 [n]

struct InferRequest {
  std::string id;
  GenerationInput input;
  std::set<std::string> outputs;  // empty: all
};

// body: the HTTP body; json_size: the Inference-Header-Content-Length value (0 when the whole
// body is JSON). Binary tensors follow the JSON header in input order.
Status parse_infer_request(const std::string& body, size_t json_size, InferRequest& out,
                           std::string& param);

nlohmann::json infer_response(const InferRequest& r, const std::string& model,
                              const std::string& version, const Completion& c);

nlohmann::json model_metadata(const ServedModel& m, const std::vector<std::string>& versions);

void register_routes(httplib::Server& server, ServerContext& ctx);

}  // namespace autoglm::serve::http::kserve
