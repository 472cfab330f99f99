#include "serve/http/envelope.h"

#include "serve/http/call.h"

namespace autoglm::serve::http::envelope {

using nlohmann::json;

Status parse_request(const json& body, EnvelopeRequest& out, std::string& param) {
  Fields f(body);
  f.require("model_name");
  f.get("model_name", out.model_name);
  // Versions are numbers; accept them written either way.
  if (f.ok() && body.contains("version") && body["version"].is_number_integer() &&
      body["version"].get<int64_t>() >= 0) {
    out.version = std::to_string(body["version"].get<int64_t>());
  } else if (f.ok() && body.contains("version") && !body["version"].is_null() &&
             !body["version"].is_string()) {
    f.fail("version", "must be a version number (\"1\" or 1)");
  } else {
    f.get("version", out.version);
  }
  f.require("data");
  if (f.ok() && !body["data"].is_object()) f.fail("data", "must be an object");
  if (!f.ok()) {
    param = f.failed_field();
    return f.status();
  }
  const json& data = body["data"];
  Fields d(data, "data.");
  const bool has_prompt = d.has("prompt"), has_messages = d.has("messages");
  if (has_prompt == has_messages) {
    d.fail(has_prompt ? "messages" : "prompt",
           has_prompt ? "cannot be sent with 'data.prompt'; send one of them"
                      : "is missing; send 'data.prompt' (text) or 'data.messages' (chat)");
  }
  if (has_prompt) {
    std::string prompt;
    d.get("prompt", prompt);
    out.input.text = std::move(prompt);
  } else if (d.ok()) {
    std::vector<tokenizer::ChatMessage> messages;
    read_messages(d, data, "messages", messages);
    out.input.messages = std::move(messages);
  }
  read_generation_params(d, out.input);
  param = d.failed_field();
  return d.status();
}

json success_body(const ServedModel& m, const Completion& c) {
  return {{"status_code", 200},
          {"message", "ok"},
          {"result",
           {{"model_name", m.name},
            {"version", m.version},
            {"text", c.text},
            {"finish_reason", openai_finish_reason(c.finish)},
            {"usage",
             {{"prompt_tokens", c.prompt_tokens},
              {"completion_tokens", c.completion_tokens},
              {"cached_prompt_tokens", c.cached_prompt_tokens}}}}}};
}

void register_routes(httplib::Server& server, ServerContext& ctx) {
  server.Post("/infer", [&ctx](const httplib::Request& req, httplib::Response& res) {
    Call call(ctx, req);
    auto fail = [&](const ApiError& e) { fail_call(call, res, Protocol::Envelope, e); };
    auto body = parse_json_object(req.body);
    if (!body.ok()) return fail(api_error(body.status()));
    EnvelopeRequest r;
    std::string param;
    if (Status st = parse_request(*body, r, param); !st.ok()) return fail(api_error(st, param));
    auto model = ctx.registry.find(r.model_name, r.version);
    if (!model.ok()) return fail(api_error(model.status(), "model_name"));
    call.set_model(**model);
    Generated g = complete_generation(call, **model, r.input, ctx.config.limits);
    if (g.error) return fail(*g.error);
    reply_json(res, 200, success_body(**model, g.completion));
    call.finish(200, &g.completion);
  });
}

}  // namespace autoglm::serve::http::envelope
