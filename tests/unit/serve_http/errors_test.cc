#include "serve/http/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace autoglm::serve::http {
namespace {

using nlohmann::json;

TEST(Errors, OneStatusPerCode) {
  EXPECT_EQ(http_status_for(ErrorCode::Ok), 200);
  EXPECT_EQ(http_status_for(ErrorCode::InvalidArgument), 400);
  EXPECT_EQ(http_status_for(ErrorCode::OutOfRange), 400);
  EXPECT_EQ(http_status_for(ErrorCode::Unsupported), 400);
  EXPECT_EQ(http_status_for(ErrorCode::Unauthenticated), 401);
  EXPECT_EQ(http_status_for(ErrorCode::NotFound), 404);
  EXPECT_EQ(http_status_for(ErrorCode::QueueFull), 429);
  EXPECT_EQ(http_status_for(ErrorCode::Unavailable), 503);
  EXPECT_EQ(http_status_for(ErrorCode::ResourceExhausted), 503);
  EXPECT_EQ(http_status_for(ErrorCode::QueueTimeout), 504);
  EXPECT_EQ(http_status_for(ErrorCode::DeadlineExceeded), 504);
  EXPECT_EQ(http_status_for(ErrorCode::Internal), 500);
  EXPECT_EQ(http_status_for(ErrorCode::CorruptFile), 500);
}

TEST(Errors, PathsPickTheirProtocol) {
  EXPECT_EQ(protocol_for_path("/v1/chat/completions"), Protocol::OpenAI);
  EXPECT_EQ(protocol_for_path("/v2"), Protocol::KServe);
  EXPECT_EQ(protocol_for_path("/v2/models/m/infer"), Protocol::KServe);
  EXPECT_EQ(protocol_for_path("/infer"), Protocol::Envelope);
  EXPECT_EQ(protocol_for_path("/v2x"), Protocol::Plain);
  EXPECT_EQ(protocol_for_path("/metrics"), Protocol::Plain);
}

TEST(Errors, BodiesHaveEachProtocolsShape) {
  const ApiError e = api_error(error(ErrorCode::QueueFull, "queue is full"), "");
  const json openai = json::parse(error_body(Protocol::OpenAI, e));
  EXPECT_EQ(openai["error"]["message"], "queue is full");
  EXPECT_EQ(openai["error"]["type"], "rate_limit_error");
  EXPECT_EQ(openai["error"]["code"], "queue_full");
  EXPECT_TRUE(openai["error"]["param"].is_null());

  const json kserve = json::parse(error_body(Protocol::KServe, e));
  EXPECT_EQ(kserve, json({{"error", "queue is full"}}));

  const json env = json::parse(error_body(Protocol::Envelope, e));
  EXPECT_EQ(env["status_code"], 429);
  EXPECT_EQ(env["message"], "queue is full");
  EXPECT_TRUE(env["result"].is_null());
}

TEST(Errors, ParamAndPayloadTooLarge) {
  const ApiError bad = api_error(error(ErrorCode::InvalidArgument, "bad n"), "n");
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(json::parse(error_body(Protocol::OpenAI, bad))["error"]["param"], "n");
  const ApiError big = payload_too_large(1024);
  EXPECT_EQ(big.http_status, 413);
  EXPECT_NE(big.message.find("1024"), std::string::npos);
  EXPECT_NE(big.message.find("--max-body-bytes"), std::string::npos);
  EXPECT_EQ(json::parse(error_body(Protocol::Envelope, big))["status_code"], 413);
}

}  // namespace
}  // namespace autoglm::serve::http
