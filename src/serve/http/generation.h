// The protocol-neutral middle of every generation call: request fields common to all adapters,
// limits, the engine request they become, and the completed output they read back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "serve/engine.h"
#include "serve/http/json_fields.h"
#include "serve/http/model_registry.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve::http {

struct Limits {
  int64_t max_prompt_tokens = 0;                 // 0: the context length is the only bound
  int64_t max_tokens_limit = 4096;               // largest max_tokens a request may ask for
  int64_t default_max_tokens = 256;              // when a request names none
  std::chrono::milliseconds queue_timeout{0};    // server-wide; a request may ask for less
  std::chrono::milliseconds request_timeout{0};  // submit to last token, likewise
};

struct GenerationInput {
  // Exactly one of these is the prompt.
  std::optional<std::string> text;                              // raw text
  std::optional<std::vector<tokenizer::ChatMessage>> messages;  // chat, templated here
  std::optional<std::vector<int32_t>> token_ids;                // already tokenized
  std::optional<int64_t> max_tokens;
  runtime::SamplingParams sampling;
  bool seed_given = false;
  std::vector<std::string> stop;
  int32_t top_logprobs = -1;  // -1: none
  int64_t queue_timeout_ms = 0;
  int64_t timeout_ms = 0;  // the whole request
};

// Reads the sampling and length fields every protocol shares: max_tokens
// (or max_completion_tokens), temperature, top_p, top_k, min_p, repeat_penalty, seed, stop,
// queue_timeout_ms, timeout_ms.
void read_generation_params(Fields& f, GenerationInput& in);

// Reads a chat message list ([{"role","content"}], content a string or text parts).
void read_messages(Fields& f, const nlohmann::json& obj, const char* key,
                   std::vector<tokenizer::ChatMessage>& out);

// Tokenizes (applying the model's chat template to messages) and applies the limits. Errors
// are InvalidArgument naming the field or the server limit; OutOfRange when prompt plus
// max_tokens exceed the context.
Result<Request> make_engine_request(const ServedModel& m, const GenerationInput& in,
                                    const Limits& limits);

// Everything a non-streaming reply needs, gathered from a request's events.
struct Completion {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  FinishReason finish = FinishReason::None;
  Status status;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, completion_tokens = 0;
  double queue_ms = 0, ttft_ms = 0, total_ms = 0;

  void add(const Event& ev);
  bool done() const { return finish != FinishReason::None; }
};

// How often a waiting handler looks at its client: well under one engine step.
inline constexpr std::chrono::milliseconds kClientPollInterval{20};

// The next event of a request; polls client_gone while waiting. When the client has gone the
// request is cancelled and nullopt returned.
std::optional<Event> wait_event(RequestHandle& h, const std::function<bool()>& client_gone);

// The status a finished request failed with (Timeout, Error, Cancelled), ok otherwise.
Status finish_status(const Completion& c);

// "stop", "length" for clients; errors are reported separately.
const char* openai_finish_reason(FinishReason r);

}  // namespace autoglm::serve::http
