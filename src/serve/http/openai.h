// OpenAI-compatible adapter: GET /v1/models, POST /v1/completions, POST /v1/chat/completions,
// with SSE streaming, logprobs and usage as the official clients expect them.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "serve/http/generation.h"
#include "serve/http/server_context.h"

namespace autoglm::serve::http::openai {

struct ParsedRequest {
  bool chat = false;
  std::string model;  // "name" or "name/version"; empty: the only model served
  GenerationInput input;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
};

// Reads a /v1/completions (chat=false) or /v1/chat/completions body. On error, param names
// the offending field.
Status parse_request(const nlohmann::json& body, bool chat, ParsedRequest& out, std::string& param);

// The fixed parts of every reply to one request.
struct ReplyInfo {
  std::string id;     // "chatcmpl-…" / "cmpl-…"
  int64_t created;    // unix seconds
  std::string model;  // the served model's name
};

// A whole non-streaming reply body.
nlohmann::json completion_body(const ParsedRequest& p, const ReplyInfo& r, const Completion& c,
                               const tokenizer::Tokenizer& tok);
// One streamed chunk carrying an event's text (and finish_reason on the final event).
nlohmann::json chunk_body(const ParsedRequest& p, const ReplyInfo& r, const Event& ev,
                          const tokenizer::Tokenizer& tok);
// The chat stream's first chunk: delta {"role":"assistant","content":""}.
nlohmann::json role_chunk(const ParsedRequest& p, const ReplyInfo& r);
// stream_options.include_usage: the chunk before [DONE], choices [] and usage filled.
nlohmann::json usage_chunk(const ParsedRequest& p, const ReplyInfo& r, const Completion& c);
nlohmann::json usage_json(const Completion& c);

// "data: <json>\n\n"
std::string sse_event(const nlohmann::json& j);

// Splits "name/version" into its parts (version empty when absent).
void split_model_id(const std::string& id, std::string& name, std::string& version);

void register_routes(httplib::Server& server, ServerContext& ctx);

}  // namespace autoglm::serve::http::openai
