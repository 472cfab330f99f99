// Request parsing and reply shapes of the OpenAI, KServe v2 and envelope adapters.
#include <gtest/gtest.h>

#include <cstring>

#include "serve/http/envelope.h"
#include "serve/http/kserve.h"
#include "serve/http/openai.h"

namespace autoglm::serve::http {
namespace {

using nlohmann::json;

TEST(OpenAI, ParsesAChatRequest) {
  const json body = {{"model", "m"},     {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                     {"max_tokens", 8},  {"temperature", 0},
                     {"seed", 7},        {"stop", {"\n", "END"}},
                     {"stream", true},   {"stream_options", {{"include_usage", true}}},
                     {"logprobs", true}, {"top_logprobs", 3}};
  openai::ParsedRequest p;
  std::string param;
  ASSERT_TRUE(openai::parse_request(body, true, p, param).ok());
  EXPECT_EQ(p.model, "m");
  ASSERT_TRUE(p.input.messages.has_value());
  EXPECT_EQ((*p.input.messages)[0].content, "hi");
  EXPECT_EQ(p.input.max_tokens, 8);
  EXPECT_EQ(p.input.sampling.temperature, 0.0f);
  EXPECT_TRUE(p.input.seed_given);
  EXPECT_EQ(p.input.sampling.seed, 7u);
  EXPECT_EQ(p.input.stop.size(), 2u);
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
  EXPECT_EQ(p.input.top_logprobs, 3);
}

TEST(OpenAI, ErrorsNameTheField) {
  struct Case {
    json body;
    bool chat;
    const char* param;
  };
  const Case cases[] = {
      {{{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"n", 2}}, true, "n"},
      {{{"model", "m"}}, true, "messages"},
      {{{"model", "m"}, {"messages", "hi"}}, true, "messages"},
      {{{"model", "m"}, {"prompt", "x"}, {"max_tokens", "8"}}, false, "max_tokens"},
      {{{"model", "m"}, {"prompt", {"a", "b"}}}, false, "prompt"},
      {{{"model", "m"}, {"prompt", "x"}, {"stream_options", {{"include_usage", 1}}}},
       false,
       "stream_options.include_usage"},
      {{{"model", 3}, {"prompt", "x"}}, false, "model"},
      {{{"model", "m"}, {"prompt", "x"}, {"temperature", 9}}, false, "temperature"},
  };
  for (const Case& c : cases) {
    openai::ParsedRequest p;
    std::string param;
    const Status st = openai::parse_request(c.body, c.chat, p, param);
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << c.body.dump();
    EXPECT_EQ(param, c.param) << c.body.dump() << " -> " << st.message();
  }
}

TEST(OpenAI, PromptAsTokenIds) {
  openai::ParsedRequest p;
  std::string param;
  ASSERT_TRUE(openai::parse_request({{"prompt", {1, 2, 3}}}, false, p, param).ok());
  EXPECT_EQ(*p.input.token_ids, (std::vector<int32_t>{1, 2, 3}));
}

TEST(OpenAI, StreamChunksFollowTheReference) {
  openai::ParsedRequest p;
  p.chat = true;
  p.include_usage = true;
  const openai::ReplyInfo r{"chatcmpl-1", 1700000000, "m"};
  const json role = openai::role_chunk(p, r);
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(role["usage"].is_null());
  Completion c;
  c.prompt_tokens = 5;
  c.completion_tokens = 2;
  const json usage = openai::usage_chunk(p, r, c);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 7);
  EXPECT_EQ(openai::sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  std::string name, version;
  openai::split_model_id("m/3", name, version);
  EXPECT_EQ(name, "m");
  EXPECT_EQ(version, "3");
}

TEST(KServe, ParsesJsonTensors) {
  const json body = {
      {"id", "r1"},
      {"inputs",
       {{{"name", "text_input"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {"hello"}}}}},
      {"parameters", {{"max_tokens", 4}, {"temperature", 0}}},
      {"outputs", {{{"name", "text_output"}}}}};
  kserve::InferRequest r;
  std::string param;
  ASSERT_TRUE(kserve::parse_infer_request(body.dump(), 0, r, param).ok()) << param;
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(*r.input.text, "hello");
  EXPECT_EQ(r.input.max_tokens, 4);
  EXPECT_EQ(r.outputs.count("text_output"), 1u);
  Completion c;
  c.text = "out";
  c.tokens = {1, 2};
  const json resp = kserve::infer_response(r, "m", "1", c);
  ASSERT_EQ(resp["outputs"].size(), 1u);
  EXPECT_EQ(resp["outputs"][0]["data"][0], "out");
  EXPECT_EQ(resp["id"], "r1");
}

TEST(KServe, ParsesBinaryTensors) {
  // tritonclient's default: JSON header, then each BYTES element as <u32 length><bytes>.
  const std::string text = "hi there";
  std::string blob(4, '\0');
  const uint32_t n = static_cast<uint32_t>(text.size());
  std::memcpy(blob.data(), &n, 4);
  blob += text;
  const json header = {{"inputs",
                        {{{"name", "text_input"},
                          {"shape", {1}},
                          {"datatype", "BYTES"},
                          {"parameters", {{"binary_data_size", blob.size()}}}}}}};
  const std::string h = header.dump();
  kserve::InferRequest r;
  std::string param;
  ASSERT_TRUE(kserve::parse_infer_request(h + blob, h.size(), r, param).ok()) << param;
  EXPECT_EQ(*r.input.text, text);
  kserve::InferRequest truncated;
  EXPECT_FALSE(kserve::parse_infer_request(h + blob.substr(0, 6), h.size(), truncated, param).ok());
}

TEST(KServe, TokenIdsAndErrors) {
  kserve::InferRequest r;
  std::string param;
  const json ids = {
      {"inputs",
       {{{"name", "input_ids"}, {"shape", {3}}, {"datatype", "INT32"}, {"data", {1, 2, 3}}}}}};
  ASSERT_TRUE(kserve::parse_infer_request(ids.dump(), 0, r, param).ok());
  EXPECT_EQ(*r.input.token_ids, (std::vector<int32_t>{1, 2, 3}));
  const json unknown = {
      {"inputs", {{{"name", "image"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {"x"}}}}}};
  kserve::InferRequest r2;
  EXPECT_EQ(kserve::parse_infer_request(unknown.dump(), 0, r2, param).code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(param, "inputs[0]");
  kserve::InferRequest r3;
  EXPECT_FALSE(kserve::parse_infer_request("{}", 0, r3, param).ok());
  EXPECT_EQ(param, "inputs");
}

TEST(Envelope, ParsesPromptOrMessages) {
  envelope::EnvelopeRequest r;
  std::string param;
  ASSERT_TRUE(
      envelope::parse_request(
          {{"model_name", "m"}, {"version", 2}, {"data", {{"prompt", "x"}, {"max_tokens", 3}}}}, r,
          param)
          .ok());
  EXPECT_EQ(r.version, "2");
  EXPECT_EQ(*r.input.text, "x");
  envelope::EnvelopeRequest chat;
  ASSERT_TRUE(
      envelope::parse_request(
          {{"model_name", "m"}, {"data", {{"messages", {{{"role", "user"}, {"content", "x"}}}}}}},
          chat, param)
          .ok());
  EXPECT_TRUE(chat.input.messages.has_value());
}

TEST(Envelope, MissingFieldsAreNamed) {
  struct Case {
    json body;
    const char* param;
  };
  const Case cases[] = {
      {{{"data", {{"prompt", "x"}}}}, "model_name"},
      {{{"model_name", "m"}}, "data"},
      {{{"model_name", "m"}, {"data", {}}}, "data"},
      {{{"model_name", "m"}, {"data", json::object()}}, "data.prompt"},
      {{{"model_name", "m"}, {"data", {{"prompt", "x"}, {"max_tokens", -1}}}}, "data.max_tokens"},
      {{{"model_name", "m"}, {"version", true}, {"data", {{"prompt", "x"}}}}, "version"},
  };
  for (const Case& c : cases) {
    envelope::EnvelopeRequest r;
    std::string param;
    EXPECT_EQ(envelope::parse_request(c.body, r, param).code(), ErrorCode::InvalidArgument)
        << c.body.dump();
    EXPECT_EQ(param, c.param) << c.body.dump();
  }
}

}  // namespace
}  // namespace autoglm::serve::http
