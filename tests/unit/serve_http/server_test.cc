// The whole HTTP server in process, on a tiny random model, through a real HTTP client.
#include "serve/http/server.h"

#include <gtest/gtest.h>

#include <thread>

#include "tiny_model.h"

namespace autoglm::serve::http {
namespace {

using nlohmann::json;

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig config) {
    const ModelSpec spec{"tiny", "1", autoglm::testing::tiny_llama_file(), ""};
    EngineOptions opts;
    opts.threads = 1;
    opts.n_ctx = 128;
    auto m = load_served_model(spec, opts);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    registry_ = std::make_unique<ModelRegistry>(std::vector<ModelSpec>{spec});
    registry_->add_loaded(std::move(*m));
    config.http_threads = 8;
    ctx_ = std::make_unique<ServerContext>(*registry_, std::move(config));
    server_ = std::make_unique<HttpServer>(*ctx_);
    auto port = server_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().to_string();
    thread_ = std::thread([this] { server_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !client_->Get("/health"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result post(const std::string& path, const json& body, httplib::Headers h = {}) {
    return client_->Post(path.c_str(), h, body.dump(), "application/json");
  }

  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<ServerContext> ctx_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

const json kChat = {{"model", "tiny"},
                    {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                    {"max_tokens", 5},
                    {"temperature", 0}};

TEST_F(ServerTest, ChatCompletionAndMetrics) {
  start({});
  auto r = post("/v1/chat/completions", kChat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_GT(j["usage"]["prompt_tokens"], 0);
  EXPECT_LE(j["usage"]["completion_tokens"], 5);
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("inference_requests_total{model=\"tiny\",version=\"1\",status=\"200\"} 1"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("inference_latency_seconds_count{model=\"tiny\",version=\"1\"} 1"),
            std::string::npos);
}

TEST_F(ServerTest, StreamEndsWithDone) {
  start({});
  json body = kChat;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = post("/v1/chat/completions", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> chunks;
  size_t pos = 0;
  bool done = false;
  while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
    const size_t end = r->body.find("\n\n", pos);
    const std::string payload = r->body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (payload == "[DONE]") {
      done = true;
      break;
    }
    chunks.push_back(json::parse(payload));
  }
  ASSERT_TRUE(done);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(chunks.back()["choices"].empty());
  EXPECT_GT(chunks.back()["usage"]["completion_tokens"], 0);
  const json& last = chunks[chunks.size() - 2];
  EXPECT_FALSE(last["choices"][0]["finish_reason"].is_null());
  for (const json& c : chunks) EXPECT_EQ(c["id"], chunks.front()["id"]);
}

TEST_F(ServerTest, ErrorsInEachProtocolsShape) {
  ServerConfig config;
  config.max_body_bytes = 2048;
  start(std::move(config));
  json unknown = kChat;
  unknown["model"] = "nope";
  auto r = post("/v1/chat/completions", unknown);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "model");

  r = post("/infer", {{"model_name", "tiny"}, {"data", {{"prompt", 5}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["status_code"], 400);
  EXPECT_NE(json::parse(r->body)["message"].get<std::string>().find("data.prompt"),
            std::string::npos);

  r = client_->Post("/v2/models/tiny/infer", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(json::parse(r->body)["error"].is_string());

  r = post("/infer", {{"model_name", "tiny"}, {"data", {{"prompt", std::string(4096, 'x')}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json::parse(r->body)["status_code"], 413);

  r = post("/infer", {{"model_name", "tiny"}, {"data", {{"prompt", "x"}, {"max_tokens", 100000}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("--max-tokens-limit"), std::string::npos);

  r = client_->Get("/v2/models/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(ServerTest, EnvelopeInferAnswersInItsShape) {
  start({});
  auto r = post("/infer", {{"model_name", "tiny"},
                           {"data", {{"prompt", "hello"}, {"max_tokens", 3}, {"temperature", 0}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["status_code"], 200);
  EXPECT_EQ(j["result"]["model_name"], "tiny");
  EXPECT_EQ(j["result"]["version"], "1");
  EXPECT_TRUE(j["result"]["text"].is_string());
  EXPECT_GT(j["result"]["usage"]["prompt_tokens"], 0);
  EXPECT_LE(j["result"]["usage"]["completion_tokens"], 3);
}

// Logprobs follow each endpoint's shape, one entry per generated token, and are null unasked.
TEST_F(ServerTest, LogprobsInEachEndpointsShape) {
  start({});
  json chat = kChat;
  chat["logprobs"] = true;
  chat["top_logprobs"] = 2;
  auto r = post("/v1/chat/completions", chat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  const json content = j["choices"][0]["logprobs"]["content"];
  ASSERT_GT(content.size(), 0u);
  ASSERT_EQ(content.size(), j["usage"]["completion_tokens"].get<size_t>());
  for (const json& t : content) EXPECT_EQ(t["top_logprobs"].size(), 2u);

  r = post("/v1/completions", {{"model", "tiny"},
                               {"prompt", "hi"},
                               {"max_tokens", 3},
                               {"temperature", 0},
                               {"logprobs", 1}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  const json& lp = j["choices"][0]["logprobs"];
  const size_t n = j["usage"]["completion_tokens"];
  ASSERT_GT(n, 0u);
  EXPECT_EQ(lp["tokens"].size(), n);
  EXPECT_EQ(lp["token_logprobs"].size(), n);
  EXPECT_EQ(lp["top_logprobs"].size(), n);
  EXPECT_EQ(lp["text_offset"].size(), n);

  r = post("/v1/completions", {{"model", "tiny"}, {"prompt", "hi"}, {"max_tokens", 3}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(json::parse(r->body)["choices"][0]["logprobs"].is_null());

  chat["stream"] = true;
  r = post("/v1/chat/completions", chat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  size_t streamed = 0;
  for (size_t pos = 0; (pos = r->body.find("data: {", pos)) != std::string::npos;) {
    const size_t end = r->body.find("\n\n", pos);
    const json chunk = json::parse(r->body.substr(pos + 6, end - pos - 6));
    pos = end;
    const json& l = chunk["choices"][0]["logprobs"];
    if (!l.is_null()) streamed += l["content"].size();
  }
  EXPECT_EQ(streamed, content.size());
}

TEST_F(ServerTest, ApiKeysGuardAllButHealthAndMetrics) {
  ServerConfig config;
  config.api_keys = ApiKeys({"sesame"});
  start(std::move(config));
  auto r = post("/v1/chat/completions", kChat);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = post("/v1/chat/completions", kChat, {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = post("/v1/chat/completions", kChat, {{"Authorization", "Bearer sesame"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* open :
       {"/health", "/ready", "/metrics", "/v2/health/live", "/v2/health/ready"}) {
    auto g = client_->Get(open);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 200) << open;
  }
  auto meta = client_->Get("/v2/models/tiny");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->status, 401);
}

TEST_F(ServerTest, KServeInferAndMetadata) {
  start({});
  auto meta = client_->Get("/v2/models/tiny/versions/1");
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->status, 200);
  EXPECT_EQ(json::parse(meta->body)["parameters"]["placement"]["splits"], 1);
  auto r = post(
      "/v2/models/tiny/infer",
      {{"inputs",
        {{{"name", "text_input"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {"hello"}}}}},
       {"parameters", {{"max_tokens", 3}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["model_name"], "tiny");
  EXPECT_EQ(j["outputs"][0]["name"], "text_output");
  EXPECT_LE(j["outputs"][1]["data"].size(), 3u);
}

TEST_F(ServerTest, DrainTurnsReadinessOffAndRefusesNewCalls) {
  start({});
  EXPECT_EQ(client_->Get("/v2/health/ready")->status, 200);
  server_->begin_drain();
  EXPECT_EQ(client_->Get("/v2/health/ready")->status, 503);
  EXPECT_EQ(client_->Get("/ready")->status, 503);
  EXPECT_EQ(client_->Get("/v2/health/live")->status, 200);
  auto r = post("/infer", {{"model_name", "tiny"}, {"data", {{"prompt", "x"}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(server_->wait_drained(std::chrono::milliseconds(1000)));
}

}  // namespace
}  // namespace autoglm::serve::http
