#include "serve/http/generation.h"

#include <random>

namespace autoglm::serve::http {

using nlohmann::json;

namespace {

// The server's limit unless the request asks for less (0 on either side: no limit there).
std::chrono::milliseconds tighter(std::chrono::milliseconds server, int64_t request_ms) {
  if (request_ms > 0 && (server.count() == 0 || request_ms < server.count())) {
    return std::chrono::milliseconds(request_ms);
  }
  return server;
}

}  // namespace

void read_generation_params(Fields& f, GenerationInput& in) {
  int64_t max_tokens = 0;
  const char* max_key = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (f.has(max_key)) {
    f.get(max_key, max_tokens, 1, int64_t{1} << 30);
    in.max_tokens = max_tokens;
  }
  runtime::SamplingParams& s = in.sampling;
  f.get("temperature", s.temperature, 0.0, 2.0);
  f.get("top_p", s.top_p, 0.0, 1.0);
  f.get("top_k", s.top_k, 0, 1 << 20);
  f.get("min_p", s.min_p, 0.0, 1.0);
  f.get("repeat_penalty", s.repeat_penalty, 0.0, 10.0);
  if (f.has("seed")) {
    f.get("seed", s.seed);
    in.seed_given = true;
  }
  f.get_string_list("stop", in.stop, 16);
  f.get("queue_timeout_ms", in.queue_timeout_ms, 0, int64_t{1} << 40);
  f.get("timeout_ms", in.timeout_ms, 0, int64_t{1} << 40);
}

void read_messages(Fields& f, const json& obj, const char* key,
                   std::vector<tokenizer::ChatMessage>& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_array() || it->empty()) {
    return f.fail(key, "must be a non-empty list of {\"role\", \"content\"} messages");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string at = "[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return f.fail(key, at + " must be an object with a string 'role'");
    }
    tokenizer::ChatMessage msg{m["role"].get<std::string>(), ""};
    const json& c = m.contains("content") ? m["content"] : json(nullptr);
    if (c.is_string()) {
      msg.content = c.get<std::string>();
    } else if (c.is_array()) {
      // Content parts: only text is understood by a text model.
      for (const json& part : c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string()) {
          return f.fail(key, at + ".content parts must be {\"type\":\"text\",\"text\":...}");
        }
        msg.content += part["text"].get<std::string>();
      }
    } else if (!c.is_null()) {
      return f.fail(key, at + ".content must be a string or a list of text parts");
    }
    out.push_back(std::move(msg));
  }
}

Result<Request> make_engine_request(const ServedModel& m, const GenerationInput& in,
                                    const Limits& limits) {
  const tokenizer::Tokenizer& tok = *m.tokenizer;
  Request r;
  if (in.token_ids) {
    r.prompt = *in.token_ids;
  } else if (in.messages) {
    if (tok.chat_template().empty()) {
      return error(ErrorCode::Unsupported, "model '" + m.name +
                                               "' has no chat template; send a plain prompt "
                                               "to /v1/completions instead");
    }
    AUTOGLM_ASSIGN_OR_RETURN(
        std::string text, tokenizer::apply_chat_template(tok.chat_template(), *in.messages, true));
    r.prompt = tok.encode(text, tok.add_bos(), /*parse_special=*/true);
  } else if (in.text) {
    r.prompt = tok.encode(*in.text, tok.add_bos(), /*parse_special=*/true);
  }
  if (r.prompt.empty()) {
    return error(ErrorCode::InvalidArgument, "the prompt is empty; send some text");
  }
  const auto n_prompt = static_cast<int64_t>(r.prompt.size());
  if (limits.max_prompt_tokens > 0 && n_prompt > limits.max_prompt_tokens) {
    return error(ErrorCode::InvalidArgument, "the prompt has " + std::to_string(n_prompt) +
                                                 " tokens; this server accepts at most " +
                                                 std::to_string(limits.max_prompt_tokens) +
                                                 " (--max-prompt-tokens)");
  }
  const int64_t n_ctx = m.engine->options().n_ctx;
  int64_t max_tokens = in.max_tokens.value_or(limits.default_max_tokens);
  if (max_tokens > limits.max_tokens_limit) {
    return error(ErrorCode::InvalidArgument,
                 "max_tokens is " + std::to_string(max_tokens) + "; this server allows at most " +
                     std::to_string(limits.max_tokens_limit) + " (--max-tokens-limit)");
  }
  // Without an explicit max_tokens, generation may stop at the end of the context.
  if (!in.max_tokens && n_ctx > 0)
    max_tokens = std::max<int64_t>(1, std::min(max_tokens, n_ctx - n_prompt));
  r.max_tokens = static_cast<int32_t>(max_tokens);
  r.sampling = in.sampling;
  if (!in.seed_given) r.sampling.seed = std::random_device{}();
  AUTOGLM_RETURN_IF_ERROR(r.sampling.validate());
  r.stop = in.stop;
  r.top_logprobs = in.top_logprobs;
  r.queue_timeout = tighter(limits.queue_timeout, in.queue_timeout_ms);
  r.total_timeout = tighter(limits.request_timeout, in.timeout_ms);
  return r;
}

void Completion::add(const Event& ev) {
  text += ev.text;
  tokens.insert(tokens.end(), ev.tokens.begin(), ev.tokens.end());
  logprobs.insert(logprobs.end(), ev.logprobs.begin(), ev.logprobs.end());
  top_logprobs.insert(top_logprobs.end(), ev.top_logprobs.begin(), ev.top_logprobs.end());
  if (ev.finish != FinishReason::None) {
    finish = ev.finish;
    status = ev.status;
    prompt_tokens = ev.prompt_tokens;
    cached_prompt_tokens = ev.cached_prompt_tokens;
    completion_tokens = ev.completion_tokens;
    queue_ms = ev.queue_ms;
    ttft_ms = ev.ttft_ms;
    total_ms = ev.total_ms;
  }
}

std::optional<Event> wait_event(RequestHandle& h, const std::function<bool()>& client_gone) {
  while (true) {
    std::optional<Event> ev = h.next(kClientPollInterval);
    // Asked on every event too, not only when the engine is quiet: a request whose tokens come
    // faster than the poll interval would otherwise never see its client leave. The check is
    // one non-blocking poll().
    if (client_gone()) {
      h.cancel();
      return std::nullopt;
    }
    if (ev) return ev;
    if (h.finished()) return std::nullopt;
  }
}

Status finish_status(const Completion& c) {
  switch (c.finish) {
    case FinishReason::Timeout:
      return c.status.ok() ? error(ErrorCode::DeadlineExceeded, "the request timed out") : c.status;
    case FinishReason::Error:
      return c.status.ok() ? error(ErrorCode::Internal, "the engine failed the request") : c.status;
    case FinishReason::Cancelled:
      return error(ErrorCode::Cancelled, "the request was cancelled");
    default:
      return {};
  }
}

const char* openai_finish_reason(FinishReason r) {
  return r == FinishReason::Length ? "length" : "stop";
}

}  // namespace autoglm::serve::http
