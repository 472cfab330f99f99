#include "serve/http/openai.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "serve/http/call.h"

namespace autoglm::serve::http::openai {

using nlohmann::json;

namespace {

// Reads "prompt": a string, a list holding one string, or token ids (a flat list, or a list
// holding one list). Several prompts need several requests: this server answers one choice.
void read_prompt(Fields& f, const json& body, GenerationInput& in) {
  const json& p = body["prompt"];
  if (p.is_string()) {
    in.text = p.get<std::string>();
    return;
  }
  if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    in.text = p[0].get<std::string>();
    return;
  }
  const json* ids = &p;
  if (p.is_array() && p.size() == 1 && p[0].is_array()) ids = &p[0];
  if (ids->is_array() && !ids->empty() &&
      std::all_of(ids->begin(), ids->end(), [](const json& t) { return t.is_number_integer(); })) {
    std::vector<int32_t> out;
    for (const json& t : *ids) {
      const int64_t v = t.get<int64_t>();
      // The engine checks ids against the vocabulary; this only keeps them in range of int32.
      if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
        return f.fail("prompt", "holds a token id that is not a vocabulary index");
      }
      out.push_back(static_cast<int32_t>(v));
    }
    in.token_ids = std::move(out);
    return;
  }
  if (p.is_array() && p.size() > 1) {
    return f.fail("prompt", "holds several prompts; send one prompt per request");
  }
  f.fail("prompt", "must be a string or a list of token ids");
}

json token_bytes(const std::string& piece) {
  json b = json::array();
  for (unsigned char c : piece) b.push_back(c);
  return b;
}

// Chat: {"content":[{"token","logprob","bytes","top_logprobs":[...]}]}
json chat_logprobs(const std::vector<TokenLogprob>& lp,
                   const std::vector<std::vector<TokenLogprob>>& top,
                   const tokenizer::Tokenizer& tok) {
  json content = json::array();
  for (size_t i = 0; i < lp.size(); ++i) {
    const std::string piece = tok.token_to_piece(lp[i].token, true);
    json alts = json::array();
    if (i < top.size()) {
      for (const TokenLogprob& t : top[i]) {
        const std::string p = tok.token_to_piece(t.token, true);
        alts.push_back({{"token", p}, {"logprob", t.logprob}, {"bytes", token_bytes(p)}});
      }
    }
    content.push_back({{"token", piece},
                       {"logprob", lp[i].logprob},
                       {"bytes", token_bytes(piece)},
                       {"top_logprobs", alts}});
  }
  return {{"content", content}};
}

// Completions (legacy): {"tokens","token_logprobs","top_logprobs":[{piece:lp}],"text_offset"}
json completion_logprobs(const std::vector<TokenLogprob>& lp,
                         const std::vector<std::vector<TokenLogprob>>& top,
                         const tokenizer::Tokenizer& tok, size_t text_offset) {
  json tokens = json::array(), logprobs = json::array(), tops = json::array(),
       offsets = json::array();
  for (size_t i = 0; i < lp.size(); ++i) {
    const std::string piece = tok.token_to_piece(lp[i].token, true);
    tokens.push_back(piece);
    logprobs.push_back(lp[i].logprob);
    json alts = json::object();
    if (i < top.size()) {
      for (const TokenLogprob& t : top[i]) alts[tok.token_to_piece(t.token, true)] = t.logprob;
    }
    tops.push_back(alts);
    offsets.push_back(text_offset);
    text_offset += piece.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", logprobs},
          {"top_logprobs", tops},
          {"text_offset", offsets}};
}

// A choice's "logprobs": null unless asked for, else in the shape of the endpoint.
json choice_logprobs(const ParsedRequest& p, const std::vector<TokenLogprob>& lp,
                     const std::vector<std::vector<TokenLogprob>>& top,
                     const tokenizer::Tokenizer& tok) {
  if (!p.logprobs) return json();
  return p.chat ? chat_logprobs(lp, top, tok) : completion_logprobs(lp, top, tok, 0);
}

json chunk_base(const ParsedRequest& p, const ReplyInfo& r) {
  json j = {{"id", r.id},
            {"object", p.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", r.created},
            {"model", r.model}};
  if (p.include_usage) j["usage"] = nullptr;
  return j;
}

}  // namespace

void split_model_id(const std::string& id, std::string& name, std::string& version) {
  const size_t slash = id.rfind('/');
  if (slash == std::string::npos) {
    name = id;
    version.clear();
  } else {
    name = id.substr(0, slash);
    version = id.substr(slash + 1);
  }
}

Status parse_request(const json& body, bool chat, ParsedRequest& out, std::string& param) {
  out.chat = chat;
  Fields f(body);
  f.get("model", out.model);
  int64_t n = 1;
  f.get("n", n, 1, 128);
  if (f.ok() && n != 1) f.fail("n", "must be 1: this server returns one choice per request");
  if (chat) {
    f.require("messages");
    if (f.ok()) {
      std::vector<tokenizer::ChatMessage> messages;
      read_messages(f, body, "messages", messages);
      out.input.messages = std::move(messages);
    }
    f.get("logprobs", out.logprobs);
    int32_t top = 0;
    f.get("top_logprobs", top, 0, 20);
    if (f.ok() && f.has("top_logprobs") && !out.logprobs) {
      f.fail("top_logprobs", "needs \"logprobs\": true");
    }
    if (out.logprobs) out.input.top_logprobs = top;
  } else {
    f.require("prompt");
    if (f.ok()) read_prompt(f, body, out.input);
    if (f.has("logprobs")) {
      int32_t top = 0;
      f.get("logprobs", top, 0, 5);
      out.logprobs = f.ok();
      out.input.top_logprobs = top;
    }
  }
  read_generation_params(f, out.input);
  f.get("stream", out.stream);
  if (f.ok() && f.has("stream_options")) {
    const json& so = body["stream_options"];
    if (!so.is_object()) {
      f.fail("stream_options", "must be an object");
    } else {
      Fields sf(so, "stream_options.");
      sf.get("include_usage", out.include_usage);
      if (!sf.ok()) {
        param = sf.failed_field();
        return sf.status();
      }
    }
  }
  param = f.failed_field();
  return f.status();
}

json usage_json(const Completion& c) {
  return {{"prompt_tokens", c.prompt_tokens},
          {"completion_tokens", c.completion_tokens},
          {"total_tokens", c.prompt_tokens + c.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", c.cached_prompt_tokens}}}};
}

json completion_body(const ParsedRequest& p, const ReplyInfo& r, const Completion& c,
                     const tokenizer::Tokenizer& tok) {
  json choice = {{"index", 0}, {"finish_reason", openai_finish_reason(c.finish)}};
  if (p.chat) {
    choice["message"] = {{"role", "assistant"}, {"content", c.text}};
  } else {
    choice["text"] = c.text;
  }
  choice["logprobs"] = choice_logprobs(p, c.logprobs, c.top_logprobs, tok);
  return {{"id", r.id},
          {"object", p.chat ? "chat.completion" : "text_completion"},
          {"created", r.created},
          {"model", r.model},
          {"choices", json::array({choice})},
          {"usage", usage_json(c)}};
}

json role_chunk(const ParsedRequest& p, const ReplyInfo& r) {
  json j = chunk_base(p, r);
  j["choices"] = json::array({{{"index", 0},
                               {"delta", {{"role", "assistant"}, {"content", ""}}},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}});
  return j;
}

json chunk_body(const ParsedRequest& p, const ReplyInfo& r, const Event& ev,
                const tokenizer::Tokenizer& tok) {
  json j = chunk_base(p, r);
  json choice = {{"index", 0}};
  if (p.chat) {
    choice["delta"] = ev.text.empty() ? json::object() : json{{"content", ev.text}};
  } else {
    choice["text"] = ev.text;
  }
  choice["logprobs"] = choice_logprobs(p, ev.logprobs, ev.top_logprobs, tok);
  choice["finish_reason"] =
      ev.finish == FinishReason::None ? json() : json(openai_finish_reason(ev.finish));
  j["choices"] = json::array({choice});
  return j;
}

json usage_chunk(const ParsedRequest& p, const ReplyInfo& r, const Completion& c) {
  json j = chunk_base(p, r);
  j["choices"] = json::array();
  j["usage"] = usage_json(c);
  return j;
}

std::string sse_event(const json& j) {
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

namespace {

// A streaming reply in progress: owned by httplib's content provider, so it lives until the
// last chunk is written or the client has gone.
struct Stream {
  std::shared_ptr<Call> call;
  std::shared_ptr<ServedModel> model;
  std::shared_ptr<RequestHandle> handle;
  ParsedRequest parsed;
  ReplyInfo info;
  std::optional<Event> pending;  // the first event, taken before the headers were sent
  Completion completion;
  bool role_sent = false;

  bool write(httplib::DataSink& sink, const std::string& s) {
    if (sink.write(s.data(), s.size())) return true;
    handle->cancel();
    return false;
  }

  // Called by httplib until it returns false or sink.done(): one event per call.
  bool pump(httplib::DataSink& sink) {
    const tokenizer::Tokenizer& tok = *model->tokenizer;
    if (parsed.chat && !role_sent) {
      role_sent = true;
      if (!write(sink, sse_event(role_chunk(parsed, info)))) return false;
    }
    std::optional<Event> ev = std::move(pending);
    pending.reset();
    if (!ev) ev = wait_event(*handle, [&] { return call->aborted() || !sink.is_writable(); });
    if (!ev) return false;  // client gone: the request is cancelled, the call logs 499
    completion.add(*ev);
    if (ev->finish == FinishReason::None) {
      if (ev->text.empty() && !parsed.logprobs) return true;
      return write(sink, sse_event(chunk_body(parsed, info, *ev, tok)));
    }
    std::string tail;
    if (Status st = finish_status(completion); !st.ok()) {
      // Headers are long gone: report the failure in-band, as OpenAI does.
      tail += sse_event(json::parse(error_body(Protocol::OpenAI, api_error(st))));
    } else {
      tail += sse_event(chunk_body(parsed, info, *ev, tok));
      if (parsed.include_usage) tail += sse_event(usage_chunk(parsed, info, completion));
    }
    tail += "data: [DONE]\n\n";
    if (!write(sink, tail)) return false;
    const Status st = finish_status(completion);
    call->finish(st.ok() ? 200 : http_status_for(st.code()), &completion, st.message());
    sink.done();
    return true;
  }
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void handle_generation(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                       bool chat) {
  auto call = std::make_shared<Call>(ctx, req);
  auto fail = [&](const ApiError& e) { fail_call(*call, res, Protocol::OpenAI, e); };
  auto body = parse_json_object(req.body);
  if (!body.ok()) return fail(api_error(body.status()));
  ParsedRequest parsed;
  std::string param;
  if (Status st = parse_request(*body, chat, parsed, param); !st.ok()) {
    return fail(api_error(st, param));
  }
  std::string name, version;
  split_model_id(parsed.model, name, version);
  if (name.empty()) {
    // Convenience for curl: with one model served, "model" may be left out.
    const auto all = ctx.registry.loaded();
    if (all.size() == 1 && ctx.registry.versions(all[0]->name).size() == 1) name = all[0]->name;
  }
  if (name.empty()) {
    return fail(api_error(error(ErrorCode::InvalidArgument,
                                "missing required field 'model'; GET /v1/models lists them"),
                          "model"));
  }
  auto model = ctx.registry.find(name, version);
  if (!model.ok()) return fail(api_error(model.status(), "model"));
  call->set_model(**model);
  // Started before choosing a reply shape (not complete_generation): a stream needs its first
  // event before the headers, and both shapes stamp "created" at that event.
  Started s = start_generation(*call, **model, parsed.input, ctx.config.limits);
  if (s.error) return fail(*s.error);
  if (s.client_gone) return fail(call->gone_error());

  ReplyInfo info{(chat ? "chatcmpl-" : "cmpl-") + call->id(), unix_now(), (*model)->name};
  if (!parsed.stream) {
    Generated g = collect_generation(*call, std::move(s));
    if (g.error) return fail(*g.error);
    reply_json(res, 200, completion_body(parsed, info, g.completion, *(*model)->tokenizer));
    call->finish(200, &g.completion);
    return;
  }
  auto stream = std::make_shared<Stream>();
  stream->call = call;
  stream->model = *model;
  stream->handle = s.handle;
  stream->parsed = std::move(parsed);
  stream->info = std::move(info);
  stream->pending = std::move(s.first);
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [stream](size_t, httplib::DataSink& sink) {
    return stream->pump(sink);
  });
}

}  // namespace

void register_routes(httplib::Server& server, ServerContext& ctx) {
  server.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const auto& m : ctx.registry.loaded()) {
      const auto versions = ctx.registry.versions(m->name);
      // The bare name routes to the latest version; name/version pins one.
      if (m->version == latest_version(versions)) {
        data.push_back(
            {{"id", m->name}, {"object", "model"}, {"created", 0}, {"owned_by", "autoglm"}});
      }
      if (versions.size() > 1) {
        data.push_back({{"id", m->name + "/" + m->version},
                        {"object", "model"},
                        {"created", 0},
                        {"owned_by", "autoglm"}});
      }
    }
    reply_json(res, 200, {{"object", "list"}, {"data", data}});
  });
  server.Post("/v1/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    handle_generation(ctx, req, res, false);
  });
  server.Post("/v1/chat/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    handle_generation(ctx, req, res, true);
  });
}

}  // namespace autoglm::serve::http::openai
