#include "serve/http/kserve.h"

#include <cstring>

#include "serve/http/call.h"

namespace autoglm::serve::http::kserve {

using nlohmann::json;

namespace {

void flatten(const json& j, std::vector<const json*>& out) {
  if (j.is_array()) {
    for (const json& e : j) flatten(e, out);
  } else {
    out.push_back(&j);
  }
}

uint32_t read_le32(const char* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, 4);  // the protocol is little-endian, as is every host we build for
  return v;
}

// One input tensor: its JSON description and, with the binary extension, its raw bytes.
struct Tensor {
  std::string name, datatype;
  const json* data = nullptr;
  std::string_view binary;
  bool is_binary = false;
};

Status read_text(const Tensor& t, std::string& text, const std::string& field) {
  auto bad = [&](const std::string& what) {
    return error(ErrorCode::InvalidArgument, "field '" + field + "' " + what);
  };
  if (t.datatype != "BYTES") return bad("must have datatype BYTES");
  std::vector<std::string> items;
  if (t.is_binary) {
    // Each element: a 4-byte little-endian length, then that many bytes.
    std::string_view b = t.binary;
    while (!b.empty()) {
      if (b.size() < 4) return bad("binary data ends inside an element length");
      const uint32_t n = read_le32(b.data());
      if (b.size() - 4 < n) return bad("binary data ends inside an element");
      items.emplace_back(b.substr(4, n));
      b.remove_prefix(4 + n);
    }
  } else {
    std::vector<const json*> flat;
    if (t.data) flatten(*t.data, flat);
    for (const json* e : flat) {
      if (!e->is_string()) return bad("data must hold strings");
      items.push_back(e->get<std::string>());
    }
  }
  if (items.size() != 1) {
    return bad("must hold exactly one string (shape [1]); send one prompt per request");
  }
  text = std::move(items[0]);
  return {};
}

Status read_ids(const Tensor& t, std::vector<int32_t>& ids, const std::string& field) {
  auto bad = [&](const std::string& what) {
    return error(ErrorCode::InvalidArgument, "field '" + field + "' " + what);
  };
  if (t.datatype != "INT32" && t.datatype != "INT64") return bad("must have datatype INT32");
  if (t.is_binary) {
    const size_t width = t.datatype == "INT32" ? 4 : 8;
    if (t.binary.size() % width != 0) return bad("binary data is not a whole number of ids");
    for (size_t i = 0; i < t.binary.size(); i += width) {
      int64_t v = 0;
      if (width == 4) {
        int32_t x;
        std::memcpy(&x, t.binary.data() + i, 4);
        v = x;
      } else {
        std::memcpy(&v, t.binary.data() + i, 8);
      }
      if (v < 0 || v > INT32_MAX) return bad("holds an id that is not a vocabulary index");
      ids.push_back(static_cast<int32_t>(v));
    }
    return {};
  }
  std::vector<const json*> flat;
  if (t.data) flatten(*t.data, flat);
  for (const json* e : flat) {
    if (!e->is_number_integer() || e->get<int64_t>() < 0 || e->get<int64_t>() > INT32_MAX) {
      return bad("data must hold token ids (non-negative integers)");
    }
    ids.push_back(static_cast<int32_t>(e->get<int64_t>()));
  }
  return {};
}

}  // namespace

Status parse_infer_request(const std::string& body, size_t json_size, InferRequest& out,
                           std::string& param) {
  if (json_size > body.size()) {
    return error(ErrorCode::InvalidArgument,
                 "Inference-Header-Content-Length is larger than the body");
  }
  const std::string header = json_size ? body.substr(0, json_size) : body;
  AUTOGLM_ASSIGN_OR_RETURN(json j, parse_json_object(header));
  std::string_view binary(body);
  binary.remove_prefix(json_size ? json_size : body.size());

  Fields f(j);
  f.get("id", out.id);
  f.require("inputs");
  if (f.ok() && (!j["inputs"].is_array() || j["inputs"].empty())) {
    f.fail("inputs", "must be a non-empty list of tensors");
  }
  if (!f.ok()) {
    param = f.failed_field();
    return f.status();
  }
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    const json& in = j["inputs"][i];
    const std::string field = "inputs[" + std::to_string(i) + "]";
    if (!in.is_object()) {
      param = field;
      return error(ErrorCode::InvalidArgument, "field '" + field + "' must be an object");
    }
    Fields tf(in, field + ".");
    Tensor t;
    tf.require("name");
    tf.require("datatype");
    tf.get("name", t.name);
    tf.get("datatype", t.datatype);
    int64_t binary_size = -1;
    if (tf.ok() && in.contains("parameters") && in["parameters"].is_object()) {
      Fields pf(in["parameters"], field + ".parameters.");
      pf.get("binary_data_size", binary_size, 0, int64_t{1} << 40);
      if (!pf.ok()) {
        param = pf.failed_field();
        return pf.status();
      }
    }
    if (tf.ok() && binary_size < 0) tf.require("data");
    if (!tf.ok()) {
      param = tf.failed_field();
      return tf.status();
    }
    if (binary_size >= 0) {
      if (static_cast<size_t>(binary_size) > binary.size()) {
        param = field;
        return error(ErrorCode::InvalidArgument,
                     "field '" + field + "' declares more binary data than the body holds");
      }
      t.is_binary = true;
      t.binary = binary.substr(0, static_cast<size_t>(binary_size));
      binary.remove_prefix(static_cast<size_t>(binary_size));
    } else {
      t.data = &in["data"];
    }
    Status st;
    if (t.name == kTextInput) {
      std::string text;
      st = read_text(t, text, field);
      out.input.text = std::move(text);
    } else if (t.name == kIdsInput) {
      std::vector<int32_t> ids;
      st = read_ids(t, ids, field);
      out.input.token_ids = std::move(ids);
    } else {
      st = error(ErrorCode::InvalidArgument, "field '" + field + ".name' is '" + t.name +
                                                 "'; inputs are '" + kTextInput + "' (BYTES) or '" +
                                                 kIdsInput + "' (INT32)");
    }
    if (!st.ok()) {
      param = field;
      return st;
    }
  }
  if (out.input.text && out.input.token_ids) {
    param = "inputs";
    return error(ErrorCode::InvalidArgument,
                 std::string("send either '") + kTextInput + "' or '" + kIdsInput + "', not both");
  }
  if (j.contains("parameters") && !j["parameters"].is_null()) {
    if (!j["parameters"].is_object()) {
      param = "parameters";
      return error(ErrorCode::InvalidArgument, "field 'parameters' must be an object");
    }
    Fields pf(j["parameters"], "parameters.");
    read_generation_params(pf, out.input);
    if (!pf.ok()) {
      param = pf.failed_field();
      return pf.status();
    }
  }
  if (j.contains("outputs") && j["outputs"].is_array()) {
    for (size_t i = 0; i < j["outputs"].size(); ++i) {
      const json& o = j["outputs"][i];
      const std::string field = "outputs[" + std::to_string(i) + "].name";
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string() ||
          (o["name"] != kTextOutput && o["name"] != kIdsOutput)) {
        param = field;
        return error(ErrorCode::InvalidArgument,
                     "field '" + field + "' must be '" + kTextOutput + "' or '" + kIdsOutput + "'");
      }
      out.outputs.insert(o["name"].get<std::string>());
    }
  }
  return {};
}

json infer_response(const InferRequest& r, const std::string& model, const std::string& version,
                    const Completion& c) {
  json outputs = json::array();
  auto wanted = [&](const char* name) { return r.outputs.empty() || r.outputs.count(name); };
  if (wanted(kTextOutput)) {
    outputs.push_back(
        {{"name", kTextOutput}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {c.text}}});
  }
  if (wanted(kIdsOutput)) {
    outputs.push_back({{"name", kIdsOutput},
                       {"datatype", "INT32"},
                       {"shape", {c.tokens.size()}},
                       {"data", c.tokens}});
  }
  json resp = {{"model_name", model},
               {"model_version", version},
               {"outputs", outputs},
               {"parameters",
                {{"finish_reason", openai_finish_reason(c.finish)},
                 {"prompt_tokens", c.prompt_tokens},
                 {"completion_tokens", c.completion_tokens},
                 {"cached_prompt_tokens", c.cached_prompt_tokens}}}};
  if (!r.id.empty()) resp["id"] = r.id;
  return resp;
}

json model_metadata(const ServedModel& m, const std::vector<std::string>& versions) {
  const auto& hp = m.model->hparams();
  const Engine::Placement placement = m.engine->placement();
  return {
      {"name", m.name},
      {"versions", versions},
      {"platform", "autoglm_gguf"},
      {"inputs",
       {{{"name", kTextInput}, {"datatype", "BYTES"}, {"shape", {1}}},
        {{"name", kIdsInput}, {"datatype", "INT32"}, {"shape", {-1}}}}},
      {"outputs",
       {{{"name", kTextOutput}, {"datatype", "BYTES"}, {"shape", {1}}},
        {{"name", kIdsOutput}, {"datatype", "INT32"}, {"shape", {-1}}}}},
      {"parameters",
       {{"arch", hp.arch},
        {"n_ctx", m.engine->options().n_ctx},
        {"n_vocab", m.tokenizer->n_vocab()},
        {"placement",
         {{"devices", placement.devices},
          {"splits", placement.splits},
          {"fallbacks", placement.fallbacks}}}}},
  };
}

namespace {

// The model a /v2/models/{m}[/versions/{v}] path names.
Result<std::shared_ptr<ServedModel>> path_model(ServerContext& ctx, const httplib::Request& req) {
  const std::string name = req.matches[1];
  const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  return ctx.registry.find(name, version);
}

void infer(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  Call call(ctx, req);
  auto fail = [&](const ApiError& e) { fail_call(call, res, Protocol::KServe, e); };
  auto model = path_model(ctx, req);
  if (!model.ok()) return fail(api_error(model.status()));
  call.set_model(**model);
  size_t json_size = 0;
  if (req.has_header("Inference-Header-Content-Length")) {
    const std::string v = req.get_header_value("Inference-Header-Content-Length");
    char* end = nullptr;
    json_size = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') {
      return fail(api_error(error(ErrorCode::InvalidArgument,
                                  "header Inference-Header-Content-Length must be a number")));
    }
  }
  InferRequest r;
  std::string param;
  if (Status st = parse_infer_request(req.body, json_size, r, param); !st.ok()) {
    return fail(api_error(st, param));
  }
  if (!r.input.text && !r.input.token_ids) {
    return fail(api_error(
        error(ErrorCode::InvalidArgument,
              std::string("missing input: send '") + kTextInput + "' or '" + kIdsInput + "'"),
        "inputs"));
  }
  Generated g = complete_generation(call, **model, r.input, ctx.config.limits);
  if (g.error) return fail(*g.error);
  reply_json(res, 200, infer_response(r, (*model)->name, (*model)->version, g.completion));
  call.finish(200, &g.completion);
}

}  // namespace

void register_routes(httplib::Server& server, ServerContext& ctx) {
  server.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200,
               {{"name", "autoglm"},
                {"version", "0.1.0"},
                {"extensions", json::array({"binary_tensor_data"})}});
  });
  server.Get("/v2/health/live",
             [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  server.Get("/v2/health/ready", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.status = ctx.ready() ? 200 : 503;
  });
  static const std::string kModel = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
  server.Get(kModel + "/ready", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto m = path_model(ctx, req);
    if (!m.ok()) return reply_error(res, Protocol::KServe, api_error(m.status()));
    reply_json(res, 200, {{"name", (*m)->name}, {"version", (*m)->version}, {"ready", true}});
  });
  server.Get(kModel, [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto m = path_model(ctx, req);
    if (!m.ok()) return reply_error(res, Protocol::KServe, api_error(m.status()));
    reply_json(res, 200, model_metadata(**m, ctx.registry.versions((*m)->name)));
  });
  server.Post(kModel + "/infer", [&ctx](const httplib::Request& req, httplib::Response& res) {
    infer(ctx, req, res);
  });
}

}  // namespace autoglm::serve::http::kserve
