#include "serve/http/json_fields.h"

#include <gtest/gtest.h>

namespace autoglm::serve::http {
namespace {

using nlohmann::json;

TEST(JsonFields, MalformedBodiesAreInvalidArgument) {
  EXPECT_EQ(parse_json_object("{\"a\":").status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(parse_json_object("{\"a\":").status().message().find("not valid JSON"),
            std::string::npos);
  EXPECT_EQ(parse_json_object("[1,2]").status().code(), ErrorCode::InvalidArgument);
  EXPECT_TRUE(parse_json_object("{\"a\":1}").ok());
}

TEST(JsonFields, ReadsPresentFieldsAndLeavesAbsentOnes) {
  const json j = {{"s", "x"}, {"b", true}, {"i", 7}, {"f", 0.5}, {"n", nullptr}};
  Fields f(j);
  std::string s = "default";
  bool b = false;
  int64_t i = 0;
  float x = 0;
  std::string n = "kept";
  f.get("s", s);
  f.get("b", b);
  f.get("i", i, 0, 10);
  f.get("f", x, 0.0, 1.0);
  f.get("n", n);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(s, "x");
  EXPECT_TRUE(b);
  EXPECT_EQ(i, 7);
  EXPECT_FLOAT_EQ(x, 0.5f);
  EXPECT_EQ(n, "kept");
}

TEST(JsonFields, WrongTypesNameTheField) {
  const json j = {{"data", {{"max_tokens", "ten"}}}};
  Fields f(j["data"], "data.");
  int64_t max_tokens = 0;
  f.get("max_tokens", max_tokens, 1, 100);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.failed_field(), "data.max_tokens");
  EXPECT_NE(f.status().message().find("'data.max_tokens' must be an integer"), std::string::npos);
}

TEST(JsonFields, RangesAreChecked) {
  const json j = {{"temperature", 3.5}};
  Fields f(j);
  float t = 0;
  f.get("temperature", t, 0.0, 2.0);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("between 0"), std::string::npos);
}

TEST(JsonFields, FirstErrorWins) {
  const json j = {{"a", "x"}, {"b", "y"}};
  Fields f(j);
  int64_t a = 0, b = 0;
  f.get("a", a, 0, 1);
  f.get("b", b, 0, 1);
  EXPECT_EQ(f.failed_field(), "a");
}

TEST(JsonFields, RequireNamesMissingField) {
  const json empty = json::object();
  Fields f(empty, "data.");
  f.require("prompt");
  EXPECT_EQ(f.status().message(), "missing required field 'data.prompt'");
}

TEST(JsonFields, StopIsAStringOrAList) {
  std::vector<std::string> stop;
  const json j1 = {{"stop", "\n"}}, j2 = {{"stop", {"a", "b"}}}, j3 = {{"stop", {1}}},
             j4 = {{"stop", {"a", "b", "c"}}};
  Fields one(j1);
  one.get_string_list("stop", stop, 4);
  EXPECT_EQ(stop, std::vector<std::string>{"\n"});
  Fields many(j2);
  many.get_string_list("stop", stop, 4);
  EXPECT_EQ(stop, (std::vector<std::string>{"a", "b"}));
  Fields bad(j3);
  bad.get_string_list("stop", stop, 4);
  EXPECT_FALSE(bad.ok());
  Fields too_many(j4);
  too_many.get_string_list("stop", stop, 2);
  EXPECT_FALSE(too_many.ok());
}

TEST(JsonFields, IntegralFloatsCountAsIntegers) {
  const json j = {{"n", 2.0}, {"m", 2.5}};
  Fields f(j);
  int64_t n = 0, m = 0;
  f.get("n", n, 0, 10);
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(n, 2);
  f.get("m", m, 0, 10);
  EXPECT_FALSE(f.ok());
}

}  // namespace
}  // namespace autoglm::serve::http
